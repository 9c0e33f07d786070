"""The rules every input obeys, written once.

HTML forms and the JSON API both hand their data to these models (through the services), so a
field means the same thing and fails the same way wherever it comes from. The API's OpenAPI
description is generated from the same models. Unknown keys are ignored: a body that adds
`role`, `status` or another user's id changes nothing (mass assignment, SECURITY.md item 9).
"""

# Pydantic's constrained types are built by small functions (Name(100), CodeList(Country, 1, 10)):
# valid at run time and read by pydantic, but no annotation a static checker can follow.
# mypy: disable-error-code="valid-type"

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any, Literal

import email_validator
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from app import taxonomy
from app.bilingual import home_lang
from app.models import MatchStatus

__all__ = ["ValidationError"]

PASSWORD_MIN = 8
PASSWORD_MAX = 1024  # long enough for any passphrase; bounds the KDF's work per request


def _clean_text(value: str) -> str:
    # NUL cannot be stored by PostgreSQL, and other control characters only hide things.
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in value):
        raise PydanticCustomError("control_chars", "contains control characters")
    return unicodedata.normalize("NFC", value)


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _code_of(kind: str) -> AfterValidator:
    def check(value: str) -> str:
        if not taxonomy.is_valid(kind, value):
            raise PydanticCustomError("unknown_code", "unknown code {code}", {"code": value})
        return value

    return AfterValidator(check)


def _codes_enum(kind: str) -> Any:
    """The taxonomy's codes as the field's `enum` in the OpenAPI document (read when the document
    is built, from the same table the validator checks: one list, never copied by hand)."""

    def extra(schema: dict[str, Any]) -> None:
        schema.pop("maxLength", None)
        schema["enum"] = sorted(taxonomy.codes(kind))

    return Field(json_schema_extra=extra)


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise PydanticCustomError("duplicates", "lists a code twice")
    return values


# The rules of _clean_text and _strip as JSON Schema patterns, for the OpenAPI document: no
# control characters but tab and line breaks; a required text has something besides whitespace.
_CONTROL = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f"
TEXT_PATTERN = f"^[^{_CONTROL}]*$"
FILLED_TEXT_PATTERN = f"^[^{_CONTROL}]*[^\\s{_CONTROL}][^{_CONTROL}]*$"


def Text(  # noqa: N802 - reads as a type
    max_length: int, min_length: int = 1, *, pattern: Callable[[], str] | None = None
) -> Any:
    # The lengths sit on `str` itself (before the validators wrap it), so a blank or long text is
    # reported as `string_too_short`/`string_too_long`, not as a list's `too_short`/`too_long`.
    # _strip still runs first: a BeforeValidator wraps everything listed before it.
    def extra(schema: dict[str, Any]) -> None:
        if pattern is not None:
            schema["pattern"] = pattern()
        else:
            schema["pattern"] = FILLED_TEXT_PATTERN if min_length else TEXT_PATTERN

    return Annotated[
        str,
        Field(min_length=min_length, max_length=max_length, json_schema_extra=extra),
        BeforeValidator(_strip),
        AfterValidator(_clean_text),
    ]


# Characters that change the direction of the text around them (a company name with U+202E reads
# backwards in every list), and characters that show nothing: a name made of them looks empty,
# and one hidden inside a name makes two names look the same.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f"
    + "".join(map(chr, range(0x202A, 0x202F)))
    + "".join(map(chr, range(0x2066, 0x206A)))
)
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")  # fillers that show nothing
_JOINERS = frozenset("\u200c\u200d")  # spelling in Persian, Indic scripts, emoji: between letters


def _check_name(value: str) -> str:
    for i, ch in enumerate(value):
        if ch in _BIDI_CONTROLS or ch in _BLANK_LETTERS:
            raise PydanticCustomError(
                "invisible_chars", "invisible or direction-changing character"
            )
        if unicodedata.category(ch) == "Cf":
            between_letters = (
                0 < i < len(value) - 1
                and (value[i - 1].isalpha() or unicodedata.category(value[i - 1]).startswith("M"))
                and value[i + 1].isalpha()
            )
            if not (ch in _JOINERS and between_letters):
                raise PydanticCustomError(
                    "invisible_chars", "invisible or direction-changing character"
                )
    if not any(not ch.isspace() and unicodedata.category(ch)[0] in "LNPS" for ch in value):
        raise PydanticCustomError("invisible_chars", "nothing visible")
    return value


def _ranges(chars: list[int]) -> str:
    """Code points as a regular expression character class's body (`\\uXXXX-\\uYYYY...`)."""
    out: list[str] = []
    start = prev = None
    for cp in [*chars, None]:
        if cp is not None and prev is not None and cp == prev + 1:
            prev = cp
            continue
        if start is not None and prev is not None:
            out.append(_escape(start) if start == prev else f"{_escape(start)}-{_escape(prev)}")
        start = prev = cp
    return "".join(out)


def _escape(cp: int) -> str:
    # \\uXXXX reads the same in Python and ECMA-262 patterns; above the BMP the character itself
    # (a JSON parser turns its surrogate pair back into one character).
    return f"\\u{cp:04x}" if cp <= 0xFFFF else chr(cp)


@cache
def name_pattern() -> str:
    """_check_name as a pattern, computed from the Unicode tables this Python validates with:
    no control character but tab and line breaks (as any text), no format character (bidi
    controls among them), no invisible filler, and at least one visible letter, digit,
    punctuation or symbol. Stricter than the server in one corner only: a zero-width joiner
    between two letters is accepted but not described."""
    hidden: list[int] = []
    shown: list[int] = []
    # Letters, digits, punctuation and symbols live in planes 0-3; format characters also in
    # plane 14 (tags). The rest is unassigned or private use: neither hidden nor shown.
    for cp in (*range(0x40000), *range(0xE0000, 0xE1000)):
        ch = chr(cp)
        category = unicodedata.category(ch)
        if (category in ("Cc", "Cf") and ch not in "\t\n\r") or ch in _BLANK_LETTERS:
            hidden.append(cp)
        elif category[0] in "LNPS" and not ch.isspace():
            shown.append(cp)
    other = _ranges(hidden)
    return f"^[^{other}]*[{_ranges(shown)}][^{other}]*$"


def Name(max_length: int) -> Any:  # noqa: N802 - reads as a type
    """A person's or a company's name: text, with nothing invisible or direction-changing."""
    return Annotated[Text(max_length, pattern=name_pattern), AfterValidator(_check_name)]


def _taxonomy_code(kind: str, normalise: Callable[[Any], Any]) -> Any:
    """A code of the taxonomy's `kind`: checked against it, and described as its enum."""
    return Annotated[str, BeforeValidator(normalise), _code_of(kind), _codes_enum(kind)]


Country = _taxonomy_code("countries", _upper)
Language = _taxonomy_code("languages", _lower)
Level = _taxonomy_code("levels", _lower)
Industry = _taxonomy_code("industries", _lower)
Region = _taxonomy_code("regions", _lower)
Visa = _taxonomy_code("visa_types", _lower)
DegreeLevel = _taxonomy_code("degree_levels", _lower)
KsicSection = _taxonomy_code("ksic_sections", _upper)


def _blank_is_none(value: Any) -> Any:
    # An optional choice sent as "" (an unchosen <select>, an empty CSV cell) means "not stated".
    return None if isinstance(value, str) and not value.strip() else value


def _blank_branch(schema: dict[str, Any]) -> None:
    schema.setdefault("anyOf", []).append(
        {"type": "string", "pattern": r"^\s*$", "description": "Blank: not stated, as null."}
    )


# The OpenAPI side of _blank_is_none: a blank string is a third way to leave the choice out.
_BLANK_IS_NULL = Field(json_schema_extra=_blank_branch)


def OrBlank(item: Any) -> Any:  # noqa: N802 - reads as a type
    """T, null, or a blank string (read as null: an unchosen <select>, an empty CSV cell)."""
    return Annotated[item | None, BeforeValidator(_blank_is_none), _BLANK_IS_NULL]


def _year_month(value: Any) -> Any:
    """`2027-02` (or a date in that month) as the first day of the month."""
    if value is None:
        return value
    if isinstance(value, date):
        year, month = value.year, value.month
    else:
        text = value.strip() if isinstance(value, str) else ""
        match = re.fullmatch(r"(\d{4})-(\d{1,2})(?:-\d{1,2})?", text, flags=re.ASCII)
        year, month = (int(match[1]), int(match[2])) if match else (0, 0)
    if not 1990 <= year <= 2100 or not 1 <= month <= 12:
        raise PydanticCustomError("year_month", "write a month as YYYY-MM")
    return date(year, month, 1)


# A month, stored as its first day; the API writes it back as YYYY-MM.
YearMonth = Annotated[
    date,
    BeforeValidator(_year_month),
    Field(
        json_schema_extra={
            "format": "year-month",
            # What _year_month reads: a month of 1990-2100, or a date in it.
            "pattern": r"^\s*(199[0-9]|20[0-9]{2}|2100)-(0?[1-9]|1[0-2])(-[0-9]{1,2})?\s*$",
            "examples": ["2025-03"],
        }
    ),
]


def CodeList(item: Any, min_length: int, max_length: int) -> Any:  # noqa: N802
    return Annotated[
        list[item],
        Field(
            min_length=min_length,
            max_length=max_length,
            json_schema_extra={"uniqueItems": True},  # what _unique checks
        ),
        AfterValidator(_unique),
    ]


@cache
def common_passwords() -> frozenset[str]:
    """zxcvbn's bundled list of the 30,000 most common passwords: checked offline."""
    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password(value: str) -> str:
    if len(value) < PASSWORD_MIN:
        raise PydanticCustomError("password_short", "too short")
    if len(value) > PASSWORD_MAX:
        raise PydanticCustomError("password_long", "too long")
    if not value.strip():  # eight spaces are eight characters, and no secret
        raise PydanticCustomError("password_blank", "only whitespace")
    if value.lower() in common_passwords():
        raise PydanticCustomError("password_common", "too common")
    return value


Password = Annotated[
    str,
    AfterValidator(check_password),
    Field(
        json_schema_extra={
            "format": "password",
            "minLength": PASSWORD_MIN,
            "maxLength": PASSWORD_MAX,
            "pattern": r"\S",
            "description": f"{PASSWORD_MIN}-{PASSWORD_MAX} characters, not only whitespace, and "
            "not one of the 30,000 most common passwords (zxcvbn's list).",
        }
    ),
]

BUSINESS_NUMBER_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)


def business_number_is_valid(digits: str) -> bool:
    """The National Tax Service check digit of a 사업자등록번호 (10 digits)."""
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return False
    d = [int(ch) for ch in digits]
    total = sum(w * x for w, x in zip(BUSINESS_NUMBER_WEIGHTS, d, strict=False))
    total += (5 * d[8]) // 10
    return (10 - total % 10) % 10 == d[9]


def check_business_number(value: Any) -> str:
    # A spreadsheet cell may hold a number; a JSON body must send text (app.services.validation).
    if not isinstance(value, str | int):
        raise PydanticCustomError("business_number", "invalid business registration number")
    text = str(value).strip()
    if not re.fullmatch(r"\d{3}-?\d{2}-?\d{5}", text, flags=re.ASCII):
        raise PydanticCustomError("business_number_format", "write 10 digits, e.g. 123-45-67890")
    digits = text.replace("-", "")
    if not business_number_is_valid(digits):
        raise PydanticCustomError("business_number", "invalid business registration number")
    return digits


BUSINESS_NUMBER_FORMAT = "kr-business-number"
BusinessNumber = Annotated[
    str,
    BeforeValidator(check_business_number),
    Field(
        json_schema_extra={
            "pattern": r"^\s*[0-9]{3}-?[0-9]{2}-?[0-9]{5}\s*$",
            "format": BUSINESS_NUMBER_FORMAT,
            "description": "사업자등록번호: 10 digits, optionally written 123-45-67890, whose "
            "last digit is the National Tax Service check digit (format "
            f"`{BUSINESS_NUMBER_FORMAT}`; README: Codes). Answered without dashes.",
            "examples": ["220-81-62517"],
        }
    ),
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=10_000)


def _special_use_domains(schema: dict[str, Any]) -> None:
    # email-validator refuses the special-use domains (RFC 6761: `.test`, `.local`...): so does the
    # description, from the validator's own list.
    names = "|".join(map(re.escape, email_validator.SPECIAL_USE_DOMAIN_NAMES))
    schema["pattern"] = rf"^(?!.*@(.*\.)?({names})\.?\s*$)"


class Credentials(_Input):
    email: Annotated[
        EmailStr,
        BeforeValidator(_strip),
        Field(max_length=254, json_schema_extra=_special_use_domains),
    ]
    password: Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX)]

    @field_validator("email")
    @classmethod
    def _lower_email(cls, value: str) -> str:
        return value.lower()


class NewCredentials(Credentials):
    password: Password


class ConsentIn(_Input):
    # Required and must be true: without consent to collection there is no account.
    collection: Annotated[bool, Field(json_schema_extra={"const": True})]
    provision_to_smes: bool = False

    @field_validator("collection")
    @classmethod
    def _collection_required(cls, value: bool) -> bool:
        if not value:
            raise PydanticCustomError("consent_required", "consent to collection is required")
        return value


class LanguageSkill(_Input):
    code: Language
    level: Level


class StudentProfileIn(_Input):
    name: Name(100)
    nationality: Country
    languages: Annotated[
        list[LanguageSkill],
        Field(
            min_length=1,
            max_length=8,
            description="Each language once (one level per `code`).",
            json_schema_extra={"uniqueItems": True},
        ),
    ]
    topik_level: Annotated[int, Field(ge=0, le=6)] = 0
    university: Text(120)
    major: Text(120)
    markets: CodeList(Country, 1, 10)
    industries: CodeList(Industry, 1, 8)
    regions: CodeList(Region, 1, 17)
    hours_per_week: Annotated[int, Field(ge=1, le=40)]
    available_from: date | None = None
    available_until: date | None = None
    visa: Visa
    # For the visa rules: optional (older profiles and clients do without), asked by the forms.
    degree_level: OrBlank(DegreeLevel) = None
    year_of_study: OrBlank(Annotated[int, Field(ge=1, le=10)]) = None
    expected_graduation: OrBlank(YearMonth) = None
    in_korea_since: OrBlank(YearMonth) = None
    bio: Text(2000, min_length=0) = ""

    @field_validator("in_korea_since")
    @classmethod
    def _not_in_future(cls, value: date | None) -> date | None:
        if value is not None and value > date.today():
            raise PydanticCustomError("month_in_future", "this month has not come yet")
        return value

    @field_validator("languages")
    @classmethod
    def _one_level_per_language(cls, value: list[LanguageSkill]) -> list[LanguageSkill]:
        if len({skill.code for skill in value}) != len(value):
            raise PydanticCustomError("duplicates", "lists a code twice")
        return value

    @model_validator(mode="after")
    def _period_in_order(self) -> StudentProfileIn:
        if self.available_from and self.available_until:
            if self.available_until < self.available_from:
                raise PydanticCustomError("period_order", "the period ends before it starts")
        return self


def _one_of_two(field: str) -> Any:
    """The `_en` half of a Korean/English pair: at least one of the two must be given (the `_ko`
    half is validated first, so it is in `info.data` when given and valid)."""

    def check(value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get(f"{field}_ko") is None:
            if f"{field}_ko" in info.data:  # not given (an invalid one is reported by itself)
                raise PydanticCustomError(
                    "one_language_required", "give it in Korean or English (at least one)"
                )
        return value

    return check


BILINGUAL_FIELDS = ("company_name", "products", "description")


def _one_of_two_given(schema: dict[str, Any], cls: Any = None) -> None:
    """_one_of_two in the OpenAPI document: the `_ko` or the `_en` text, or the first version's
    one-language field (described with the rules of the field it goes to), is given."""
    legacy = {
        "company_name": {"type": "string", "maxLength": 120, "pattern": name_pattern()},
        "products": {"type": "string", "maxLength": 1000, "pattern": FILLED_TEXT_PATTERN},
        "description": {"type": "string", "maxLength": 2000, "pattern": TEXT_PATTERN},
    }
    schema["allOf"] = [
        {"properties": legacy},
        *(
            {
                "anyOf": [
                    {"properties": {name: {"type": "string", "pattern": r"\S"}}, "required": [name]}
                    for name in (f"{field}_ko", f"{field}_en", field)
                ]
            }
            for field in ("company_name", "products")
        ),
    ]


class SMEProfileIn(_Input):
    model_config = ConfigDict(json_schema_extra=_one_of_two_given)

    contact_name: Name(100)
    # In Korean and/or English: one of each pair is required for the name and the products.
    # Clients of the first API version send `company_name`, `products` and `description` in one
    # language: each goes to the field of its script (Hangul → Korean, other letters → English).
    company_name_ko: OrBlank(Name(120)) = None
    company_name_en: Annotated[OrBlank(Name(120)), Field(validate_default=True)] = None
    industries: CodeList(Industry, 1, 5)
    products_ko: OrBlank(Text(1000)) = None
    products_en: Annotated[OrBlank(Text(1000)), Field(validate_default=True)] = None
    markets: CodeList(Country, 1, 10)
    languages_needed: CodeList(Language, 0, 8) = []
    region: Region
    capacity: Annotated[int, Field(ge=1, le=20)]
    exporting: bool = False
    min_topik: Annotated[int, Field(ge=0, le=6)] = 0
    # For the visa rules: optional (older profiles and clients do without), asked by the forms.
    ksic_section: OrBlank(KsicSection) = None
    # A week of at most 52 hours is the legal maximum (40 + 12 overtime); 0 means flexible.
    hours_needed: Annotated[int, Field(ge=0, le=52)] = 0
    period_start: OrBlank(date) = None
    period_end: OrBlank(date) = None
    description_ko: OrBlank(Text(2000)) = None
    description_en: OrBlank(Text(2000)) = None

    _company_name_given = field_validator("company_name_en")(_one_of_two("company_name"))
    _products_given = field_validator("products_en")(_one_of_two("products"))

    @model_validator(mode="before")
    @classmethod
    def _one_language_fields(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for field in BILINGUAL_FIELDS:
            value = data.pop(field, None)
            if not (isinstance(value, str) and value.strip()):
                continue
            if _blank_is_none(data.get(f"{field}_ko")) or _blank_is_none(data.get(f"{field}_en")):
                continue  # the two-language fields win
            data[f"{field}_{home_lang(value)}"] = value
        return data

    @model_validator(mode="after")
    def _period_in_order(self) -> SMEProfileIn:
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise PydanticCustomError("period_order", "the period ends before it starts")
        return self


class SMERegistrationIn(SMEProfileIn):
    business_number: BusinessNumber


class StudentSignup(NewCredentials, StudentProfileIn):
    consent: ConsentIn


class SMESignup(NewCredentials, SMERegistrationIn):
    consent: ConsentIn


class PasswordReset(_Input):
    password: Password


class PasswordChange(_Input):
    current_password: Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX)]
    new_password: Password


def error_fields(exc: ValidationError) -> dict[str, list[dict[str, Any]]]:
    """Errors by dotted field path (`languages.0.code`), each as pydantic's type and context."""
    out: dict[str, list[dict[str, Any]]] = {}
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"] if not str(part).startswith("function-")]
        # Annotated validators add their own segment (e.g. "list[...]") to some locations.
        loc = [part for part in loc if "[" not in part]
        field = ".".join(loc) or "__root__"
        out.setdefault(field, []).append({"type": error["type"], "ctx": error.get("ctx") or {}})
    return out


# --- after the match ------------------------------------------------------------------------------

ACTIVITY_KINDS = (
    "market_research",
    "translation",
    "buyer_contact",
    "trade_fair",
    "social_media",
    "other",
)
EXPORT_LADDER = ("none", "first_export", "usd_100k", "usd_1m")
STUDENT_OUTCOMES = ("job_offer", "e7_visa", "further_study", "other")
KICKOFF_SLOTS_MAX = 3


def _one_of(*codes: str) -> AfterValidator:
    def check(value: str) -> str:
        if value not in codes:
            raise PydanticCustomError("unknown_code", "unknown code {code}", {"code": value[:40]})
        return value

    return AfterValidator(check)


def _phone(value: str) -> str:
    if value and not re.fullmatch(r"\+?[0-9 ()-]{6,30}", value, flags=re.ASCII):
        raise PydanticCustomError("phone_format", "write a phone number, e.g. +82 10-1234-5678")
    return value


Code = Annotated[str, Field(max_length=40), BeforeValidator(_lower)]


def OneOf(*codes: str) -> Any:  # noqa: N802 - reads as a type
    """One of these codes: checked, and described as their enum."""
    return Annotated[Code, _one_of(*codes), Field(json_schema_extra={"enum": list(codes)})]


class ContactIn(_Input):
    """What a person adds to their name and email for the other side of an approved match."""

    phone: Annotated[Text(30, min_length=0), AfterValidator(_phone)] = ""
    messenger: Text(100, min_length=0) = ""
    address: Text(200, min_length=0) = ""


class KickoffSlotIn(_Input):
    """A meeting time (a naive time is Korea time) and a place or a video link."""

    starts_at: Annotated[
        datetime,
        Field(
            description="A time that has not passed and is at most 366 days ahead "
            "(`slot_in_past`, `slot_too_far`); no offset means Korea time."
        ),
    ]
    place: Text(300)


class KickoffIn(_Input):
    slots: Annotated[list[KickoffSlotIn], Field(min_length=1, max_length=KICKOFF_SLOTS_MAX)]


class KickoffPick(_Input):
    slot: Annotated[int, Field(ge=0, le=KICKOFF_SLOTS_MAX - 1)]


class MessageIn(_Input):
    body: Text(5000)


class ActivityIn(_Input):
    kind: OneOf(*ACTIVITY_KINDS)
    date: date
    hours: Annotated[float, Field(gt=0, le=24, allow_inf_nan=False)]
    note: Text(2000, min_length=0) = ""


class ActivityReviewIn(_Input):
    decision: OneOf("confirm", "dispute")
    comment: Text(1000, min_length=0) = ""


class CheckInIn(_Input):
    satisfaction: Annotated[int, Field(ge=1, le=5)]
    hours: Annotated[float, Field(ge=0, le=400, allow_inf_nan=False)]
    blockers: Text(2000, min_length=0) = ""


class ExportStatusIn(_Input):
    # Above "none", the date of the first export is required (_first_export_dated).
    model_config = ConfigDict(
        json_schema_extra={
            "if": {
                "properties": {"status": {"enum": list(EXPORT_LADDER[1:])}},
                "required": ["status"],
            },
            "then": {
                "properties": {"first_export_on": {"type": "string"}},
                "required": ["first_export_on"],
            },
        }
    )
    status: OneOf(*EXPORT_LADDER)
    # Checked even when left out: every rung above "none" starts with a dated first export.
    first_export_on: Annotated[date | None, Field(validate_default=True)] = None
    markets: CodeList(Country, 0, 20) = []

    @field_validator("first_export_on")
    @classmethod
    def _first_export_dated(cls, value: date | None, info: ValidationInfo) -> date | None:
        if info.data.get("status", "none") != "none" and value is None:
            raise PydanticCustomError("first_export_date", "give the date of the first export")
        return value


class CompletionIn(ExportStatusIn):
    """An SME completes a match: its export status, plus what this match brought."""

    contracts: Annotated[int, Field(ge=0, le=10_000)] = 0
    note: Text(2000, min_length=0) = ""


class StudentOutcomeIn(_Input):
    outcome: OneOf(*STUDENT_OUTCOMES)
    note: Text(2000, min_length=0) = ""


# --- lists of matches -----------------------------------------------------------------------------

ID_MAX = 2**31 - 1  # the largest id a 32-bit INTEGER column holds
Id = Annotated[int, Field(ge=1, le=ID_MAX)]

# A stored status, or `ready`: proposals both sides accepted, waiting for a coordinator.
# Generated from MatchStatus (one list): a status added there is a filter value here too.
MatchStatusFilter = Literal[(*(status.value for status in MatchStatus), "ready")]


class MatchFilterIn(_Input):
    """What a list of matches is narrowed to, for the coordinators' pages and
    `GET /api/v1/matches` alike (app.services.directory.MatchFilters reads it). Market, industry
    and region are the SME's: what the pair would work on, and where."""

    status: Annotated[
        MatchStatusFilter | None,  # built from MatchStatus above
        Field(
            description="A match status, or `ready`: proposals both the student and the SME "
            "accepted, waiting for a coordinator's approval, oldest first."
        ),
    ] = None
    cycle: Id | None = None
    market: Country | None = None
    industry: Industry | None = None
    region: Region | None = None
    score_min: Annotated[float | None, Field(ge=0, le=1)] = None
