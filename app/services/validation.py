from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from app import schemas
from app.services.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: Any) -> M:
    """Check `data` against one of app.schemas; broken rules raise InvalidInput by field."""
    if not isinstance(data, dict):
        raise InvalidInput.single("__root__", "dict_type")
    try:
        return model.model_validate(data)
    except schemas.ValidationError as exc:
        raise InvalidInput(schemas.error_fields(exc)) from None
