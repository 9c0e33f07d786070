from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel

from app import schemas
from app.services.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)

# Set while a JSON API request is served (app.api.auth): its bodies must have the JSON types the
# OpenAPI document gives (generated from the same models), so `"override": 0`, `"capacity": "5"`
# or `"period_start": 0` are refused instead of converted. Forms, query strings and CSV cells
# stay lax: their values arrive as text ("5", "on") and pydantic converts them.
_STRICT_JSON: ContextVar[bool] = ContextVar("strict_json", default=False)

# The error type pydantic itself reports for a value of the wrong type (the messages exist).
_TYPE_ERRORS = {
    "boolean": "bool_type",
    "integer": "int_type",
    "number": "float_type",
    "string": "string_type",
    "array": "list_type",
    "object": "dict_type",
}
_DATE_ERRORS = {"date": "date_type", "date-time": "datetime_type"}


def begin_strict_json() -> Token[bool]:
    """From here on (this request), bodies are type-checked strictly; undo with end_strict_json."""
    return _STRICT_JSON.set(True)


def end_strict_json(token: Token[bool]) -> None:
    _STRICT_JSON.reset(token)


@contextmanager
def strict_json() -> Iterator[None]:
    token = begin_strict_json()
    try:
        yield
    finally:
        end_strict_json(token)


def validate(model: type[M], data: Any, *, strict: bool | None = None) -> M:
    """Check `data` against one of app.schemas; broken rules raise InvalidInput by field.

    Strictly (inside strict_json(), or with strict=True) every value must first have the JSON
    type of the model's JSON Schema; then the model's own rules run as everywhere."""
    if not isinstance(data, dict):
        raise InvalidInput.single("__root__", "dict_type")
    if strict is None:
        strict = _STRICT_JSON.get()
    wrong: dict[str, list[dict[str, Any]]] = {}
    if strict:
        schema = _json_schema(model)
        _check_types(data, schema, schema.get("$defs", {}), (), wrong)
    try:
        form = model.model_validate(data)
    except schemas.ValidationError as exc:
        # Every broken rule at once: the wrong types, and the model's rules on the other fields.
        found = {
            field: errors
            for field, errors in schemas.error_fields(exc).items()
            if not any(field == w or field.startswith(f"{w}.") for w in wrong)
        }
        raise InvalidInput({**found, **wrong}) from None
    if wrong:
        raise InvalidInput(wrong)
    return form


@cache
def _json_schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        # JSON Schema counts 5.0 as an integer, and pydantic takes it as 5.
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "unknown"


def _allows(schema: dict[str, Any], kind: str) -> bool:
    declared = schema.get("type")
    if declared is None:
        if "const" in schema:
            return _json_type(schema["const"]) == kind
        if "enum" in schema:
            return any(_json_type(v) == kind for v in schema["enum"])
        return True  # any type
    types = declared if isinstance(declared, list) else [declared]
    return kind in types or (kind == "integer" and "number" in types)


def _check_types(
    value: Any,
    schema: dict[str, Any],
    defs: dict[str, Any],
    path: tuple[str, ...],
    wrong: dict[str, list[dict[str, Any]]],
) -> None:
    """Record where `value` has a JSON type its schema does not allow (nothing else is judged)."""
    schema = _resolve(schema, defs)
    kind = _json_type(value)
    branches = [_resolve(b, defs) for b in schema.get("anyOf") or schema.get("oneOf") or ()]
    if branches:
        fitting = [b for b in branches if _allows(b, kind)]
        if not fitting:
            _wrong(branches[0], path, wrong)
            return
        schema = fitting[0]
    if not _allows(schema, kind):
        _wrong(schema, path, wrong)
        return
    if kind == "object":
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                _check_types(value[name], sub, defs, (*path, name), wrong)
    elif kind == "array" and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            _check_types(item, schema["items"], defs, (*path, str(index)), wrong)


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return defs[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _wrong(
    schema: dict[str, Any], path: tuple[str, ...], wrong: dict[str, list[dict[str, Any]]]
) -> None:
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = declared[0]
    if declared is None and "const" in schema:
        declared = {bool: "boolean", str: "string"}.get(type(schema["const"]))
    error = _DATE_ERRORS.get(schema.get("format", "")) or _TYPE_ERRORS.get(declared or "", "")
    wrong.setdefault(".".join(path) or "__root__", []).append(
        {"type": error or "string_type", "ctx": {}}
    )
