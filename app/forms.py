"""Form building blocks shared by the blueprints.

Forms here render fields and carry the CSRF token; the rules live in app.schemas and are applied
by the services, so a form only gathers raw input (`to_input`) and shows the errors it gets back.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    Form,
    FormField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.widgets import (
    CheckboxInput,
    DateInput,
    ListWidget,
    MonthInput,
    NumberInput,
    PasswordInput,
)

from app import taxonomy
from app.i18n import current_locale, error_messages
from app.services.errors import DomainError, InvalidInput
from matching import FACTORS


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:  # the service checks the codes
        pass


class RawNumberField(StringField):
    """A number as typed, so the service (not the form) decides what is wrong with it."""

    widget = NumberInput()


class RawDateField(StringField):
    widget = DateInput()


class RawMonthField(StringField):
    """A month as typed (YYYY-MM; browsers without a month picker show a text box)."""

    widget = MonthInput()


def raw(field: Field) -> Any:
    value = field.data
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def present(data: dict[str, Any]) -> dict[str, Any]:
    """Leave out what was not filled in, so the rules report "required" rather than "invalid"."""
    return {key: value for key, value in data.items() if value is not None and value != ""}


def optional_text(field: Field) -> str:
    return (field.data or "").strip()


def code_choices(kind: str, blank: str | None = None) -> list[tuple[str, str]]:
    pairs = taxonomy.choices(kind, current_locale(), sort=kind in ("languages", "countries"))
    return ([("", blank)] if blank is not None else []) + pairs


class LanguageRowForm(Form):
    code = SelectField(_l("Language"), validate_choice=False)
    level = SelectField(_l("Level"), validate_choice=False)


def fill_language_rows(rows: Any) -> None:
    languages = code_choices("languages", _("— choose —"))
    levels = code_choices("levels", _("— level —"))
    for row in rows:
        row.code.choices = languages
        row.level.choices = levels


def language_input(rows: Any) -> list[dict[str, Any]]:
    return [
        {"code": row.code.data, "level": row.level.data}
        for row in rows
        if (row.code.data or "").strip()
    ]


def language_rows_field(min_entries: int = 4) -> Any:

    return FieldList(FormField(LanguageRowForm), min_entries=min_entries, max_entries=8)


class ConsentFields:
    consent_collection = BooleanField(_l("I agree to the collection and use of my personal data"))
    consent_provision = BooleanField(
        _l("I agree that my profile may be provided to the SMEs I am proposed to")
    )

    def consent_input(self) -> dict[str, bool]:
        return {
            "collection": bool(self.consent_collection.data),
            "provision_to_smes": bool(self.consent_provision.data),
        }


def apply_errors(form: FlaskForm, error: DomainError) -> list[str]:
    """Put each of a refusal's messages on the field it names; return those that belong to no
    field (a refusal of the request as a whole names none)."""
    leftovers: list[str] = []
    aliases = {
        "consent.collection": "consent_collection",
        "consent": "consent_collection",
        # the settings form has one flat field per weight
        **{f"weights.{factor}": f"weight_{factor}" for factor in FACTORS},
    }
    for path, messages in error_messages(error).items():
        field = _field_at(form, aliases.get(path, path)) if path else None
        if field is None:
            leftovers.extend(messages)
        else:
            field.errors = list(field.errors or []) + messages
    return leftovers


def _field_at(form: Any, path: str) -> Field | None:
    node: Any = form
    for part in path.split("."):
        if part.isdigit():
            entries = getattr(node, "entries", None)
            if entries is None or int(part) >= len(entries):
                return None
            node = entries[int(part)]
            node = getattr(node, "form", node)
        else:
            candidate = getattr(node, part, None) if hasattr(node, "_fields") else None
            if candidate is None:
                return None
            node = candidate
            node = getattr(node, "form", node) if isinstance(node, FormField) else node
    if isinstance(node, Field):
        return node
    # A language row as a whole (e.g. "languages.1"): show it on its code.
    return getattr(node, "code", None)


class KeptPasswordField(PasswordField):
    """A password that a form sent back with errors keeps, unless the password itself was wrong
    (then it is asked again): nobody retypes a good password because a date was mistyped."""

    widget = PasswordInput(hide_value=False)


def forget_wrong_passwords(form: FlaskForm) -> None:
    """After the errors are put on a form: empty every password field that has one."""
    for field in form:
        if isinstance(field, PasswordField) and field.errors:
            field.data = ""
            field.raw_data = []


def step_errors(
    form: FlaskForm, error: InvalidInput, steps: dict[str, int], step: int
) -> dict[str, list[str]]:
    """The messages of one step of a stepped form, by the HTML name of the field they belong to
    (what the page's script marks). `steps` maps a schema field's first part to its step."""
    apply_errors(form, error)
    forget_wrong_passwords(form)
    out: dict[str, list[str]] = {}
    for path in error.fields:
        if steps.get(path.split(".")[0], 0) != step:
            continue
        field = _field_at(form, {"consent.collection": "consent_collection"}.get(path, path))
        if field is not None and field.errors:
            out[field.name] = [str(e) for e in field.errors if isinstance(e, str)]
    return out


class CsrfOnlyForm(FlaskForm):
    """For POST buttons (logout, delete, language switch): the CSRF token and nothing else."""
