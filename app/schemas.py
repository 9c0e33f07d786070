"""The rules every input obeys, written once.

HTML forms and the JSON API both hand their data to these models (through the services), so a
field means the same thing and fails the same way wherever it comes from. The API's OpenAPI
description is generated from the same models. Unknown keys are ignored: a body that adds
`role`, `status` or another user's id changes nothing (mass assignment, SECURITY.md item 9).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any

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


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise PydanticCustomError("duplicates", "lists a code twice")
    return values


def Text(max_length: int, min_length: int = 1) -> Any:  # noqa: N802 - reads as a type
    # The lengths sit on `str` itself (before the validators wrap it), so a blank or long text is
    # reported as `string_too_short`/`string_too_long`, not as a list's `too_short`/`too_long`.
    # _strip still runs first: a BeforeValidator wraps everything listed before it.
    return Annotated[
        str,
        Field(min_length=min_length, max_length=max_length),
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


def Name(max_length: int) -> Any:  # noqa: N802 - reads as a type
    """A person's or a company's name: text, with nothing invisible or direction-changing."""
    return Annotated[Text(max_length), AfterValidator(_check_name)]


Country = Annotated[str, BeforeValidator(_upper), _code_of("countries")]
Language = Annotated[str, BeforeValidator(_lower), _code_of("languages")]
Level = Annotated[str, BeforeValidator(_lower), _code_of("levels")]
Industry = Annotated[str, BeforeValidator(_lower), _code_of("industries")]
Region = Annotated[str, BeforeValidator(_lower), _code_of("regions")]
Visa = Annotated[str, BeforeValidator(_lower), _code_of("visa_types")]
DegreeLevel = Annotated[str, BeforeValidator(_lower), _code_of("degree_levels")]
KsicSection = Annotated[str, BeforeValidator(_upper), _code_of("ksic_sections")]


def _blank_is_none(value: Any) -> Any:
    # An optional choice sent as "" (an unchosen <select>, an empty CSV cell) means "not stated".
    return None if isinstance(value, str) and not value.strip() else value


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
    Field(json_schema_extra={"format": "year-month", "examples": ["2027-02"]}),
]


def CodeList(item: Any, min_length: int, max_length: int) -> Any:  # noqa: N802
    return Annotated[
        list[item], Field(min_length=min_length, max_length=max_length), AfterValidator(_unique)
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


Password = Annotated[str, AfterValidator(check_password)]

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
    if not isinstance(value, str | int):
        raise PydanticCustomError("business_number", "invalid business registration number")
    text = str(value).strip()
    if not re.fullmatch(r"\d{3}-?\d{2}-?\d{5}", text, flags=re.ASCII):
        raise PydanticCustomError("business_number_format", "write 10 digits, e.g. 123-45-67890")
    digits = text.replace("-", "")
    if not business_number_is_valid(digits):
        raise PydanticCustomError("business_number", "invalid business registration number")
    return digits


BusinessNumber = Annotated[str, BeforeValidator(check_business_number)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=10_000)


class Credentials(_Input):
    email: Annotated[EmailStr, BeforeValidator(_strip), Field(max_length=254)]
    password: Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX)]

    @field_validator("email")
    @classmethod
    def _lower_email(cls, value: str) -> str:
        return value.lower()


class NewCredentials(Credentials):
    password: Password  # type: ignore[assignment]


class ConsentIn(_Input):
    collection: bool
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
    languages: Annotated[list[LanguageSkill], Field(min_length=1, max_length=8)]
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
    degree_level: Annotated[DegreeLevel | None, BeforeValidator(_blank_is_none)] = None
    year_of_study: Annotated[
        Annotated[int, Field(ge=1, le=10)] | None, BeforeValidator(_blank_is_none)
    ] = None
    expected_graduation: Annotated[YearMonth | None, BeforeValidator(_blank_is_none)] = None
    in_korea_since: Annotated[YearMonth | None, BeforeValidator(_blank_is_none)] = None
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


class SMEProfileIn(_Input):
    contact_name: Name(100)
    company_name: Name(120)
    industries: CodeList(Industry, 1, 5)
    products: Text(1000)
    markets: CodeList(Country, 1, 10)
    languages_needed: CodeList(Language, 0, 8) = []
    region: Region
    capacity: Annotated[int, Field(ge=1, le=20)]
    exporting: bool = False
    min_topik: Annotated[int, Field(ge=0, le=6)] = 0
    # For the visa rules: optional (older profiles and clients do without), asked by the forms.
    ksic_section: Annotated[KsicSection | None, BeforeValidator(_blank_is_none)] = None
    # A week of at most 52 hours is the legal maximum (40 + 12 overtime); 0 means flexible.
    hours_needed: Annotated[int, Field(ge=0, le=52)] = 0
    period_start: Annotated[date | None, BeforeValidator(_blank_is_none)] = None
    period_end: Annotated[date | None, BeforeValidator(_blank_is_none)] = None
    description: Text(2000, min_length=0) = ""

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


class ContactIn(_Input):
    """What a person adds to their name and email for the other side of an approved match."""

    phone: Annotated[Text(30, min_length=0), AfterValidator(_phone)] = ""
    messenger: Text(100, min_length=0) = ""
    address: Text(200, min_length=0) = ""


class KickoffSlotIn(_Input):
    """A meeting time (a naive time is Korea time) and a place or a video link."""

    starts_at: datetime
    place: Text(300)


class KickoffIn(_Input):
    slots: Annotated[list[KickoffSlotIn], Field(min_length=1, max_length=KICKOFF_SLOTS_MAX)]


class KickoffPick(_Input):
    slot: Annotated[int, Field(ge=0, le=KICKOFF_SLOTS_MAX - 1)]


class MessageIn(_Input):
    body: Text(5000)


class ActivityIn(_Input):
    kind: Annotated[Code, _one_of(*ACTIVITY_KINDS)]
    date: date
    hours: Annotated[float, Field(gt=0, le=24, allow_inf_nan=False)]
    note: Text(2000, min_length=0) = ""


class ActivityReviewIn(_Input):
    decision: Annotated[Code, _one_of("confirm", "dispute")]
    comment: Text(1000, min_length=0) = ""


class CheckInIn(_Input):
    satisfaction: Annotated[int, Field(ge=1, le=5)]
    hours: Annotated[float, Field(ge=0, le=400, allow_inf_nan=False)]
    blockers: Text(2000, min_length=0) = ""


class ExportStatusIn(_Input):
    status: Annotated[Code, _one_of(*EXPORT_LADDER)]
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
    outcome: Annotated[Code, _one_of(*STUDENT_OUTCOMES)]
    note: Text(2000, min_length=0) = ""
