"""SMEs created from a coordinator's CSV: every row valid, or nothing written.

Each row obeys the SME sign-up rules (`app.schemas.SMERegistrationIn`, plus the email). Emails
and business numbers already registered, or repeated within the file, are rejected rows. If any
row is rejected, nothing is written, and the report names each line and its reasons.

Consent. The import stands in for the companies' own sign-up, so the coordinator must confirm
(a required tick on the upload form) that every company in the file agreed in writing to the
privacy notice in force. Each account then gets a consent record under the current policy
version (collection and use), and an audit entry `sme_imported` naming the coordinator as the one
who attested it. At their first login the company is asked again if the policy has changed.

Passwords. Nobody knows an imported account's password: it is the hash of a random 256-bit secret
that is thrown away at once (one hash per import, not per row: a memory-hard hash per row would
make a 500-row file take minutes). The company sets its own password through the password reset
flow (or a coordinator hands out a reset link); until then nobody can log in to the account.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from pydantic import BeforeValidator, EmailStr, Field, field_validator
from sqlalchemy import select

from app import schemas, taxonomy
from app.extensions import db
from app.i18n import current_locale, translate_errors
from app.models import SME, Consent, Role, User
from app.services import accounts, audit, codebook, profiles
from app.services.errors import InvalidInput
from app.services.exports import HEADERS, header_rows
from app.services.validation import validate

MAX_ROWS = 2000
LIST_COLUMNS = ("industries", "markets", "languages_needed")
# Which taxonomy each coded column takes its values from: codes or English or Korean names.
CODED_COLUMNS = {
    "industries": "industries",
    "markets": "countries",
    "languages_needed": "languages",
    "region": "regions",
    "ksic_section": "ksic_sections",
}
# Short lists are named in full in an error; countries and languages by an example and the list
# on the page (hundreds of names in one message help nobody).
LISTED_IN_ERRORS = ("industries", "regions", "ksic_sections")
IMPORTED = (
    "email", "contact_name", "company_name", "business_number", "industries", "products",
    "markets", "languages_needed", "region", "capacity", "exporting", "min_topik", "ksic_section",
    "hours_needed", "period_start", "period_end", "description",
    # Each language as its own column (the export writes them too). A row gives the name and the
    # products in Korean, English or both; `company_name`/`products`/`description` in one
    # language go to the column of their script (Hangul: Korean).
    "company_name_ko", "company_name_en", "products_ko", "products_en", "description_ko",
    "description_en",
)  # fmt: skip
COLUMNS = {name: HEADERS[name] for name in IMPORTED}
OPTIONAL_COLUMNS = (
    "company_name",
    "products",
    "company_name_ko",
    "company_name_en",
    "products_ko",
    "products_en",
    "description_ko",
    "description_en",
    "languages_needed",
    "description",
    "exporting",
    "min_topik",
    "ksic_section",
    "hours_needed",
    "period_start",
    "period_end",
)
TRUE_WORDS = {"true", "yes", "y", "1", "예", "네", "o"}
FALSE_WORDS = {"false", "no", "n", "0", "아니오", "아니요", "x", ""}


class SMEImportRow(schemas.SMERegistrationIn):
    email: Annotated[EmailStr, BeforeValidator(schemas._strip), Field(max_length=254)]

    @field_validator("email")
    @classmethod
    def _lower_email(cls, value: str) -> str:
        return value.lower()


@dataclass
class RejectedRow:
    line: int
    reasons: list[str] = field(default_factory=list)


class ImportRejected(InvalidInput):
    """The file as a whole broke a rule (`problem`, a message key of app.i18n with its context),
    or some of its rows did (`rows`, each with its reasons in words). Either way the refusal is
    of the whole file: it names no field."""

    def __init__(self, rows: list[RejectedRow], problem: str | None = None, **ctx: Any):
        if problem is None:
            problem, ctx = "csv_rows_rejected", {"num": len(rows)}
        super().__init__({"": [{"type": problem, "ctx": ctx}]})
        self.rows = rows

    @property
    def problems(self) -> list[str]:
        """The file's own problem in words (none when the rows carry the reasons)."""
        return [] if self.rows else translate_errors(self.fields)[""]


def _list(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[;|]", value or "") if part.strip()]


def _bool(value: str) -> Any:
    word = (value or "").strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return word  # pydantic says what is wrong with it


def _defused(value: str) -> str:
    """A cell as the export wrote it, without the `'` that keeps a spreadsheet from running it
    as a formula (exports._cell), so an exported file imports back as it was."""
    if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@", "\t", "\r"):
        return value[1:]
    return value


def _code(column: str, value: str) -> str:
    """A name (English or Korean) as its code; left as written when it names nothing, so the
    rules say it is not in the list."""
    return codebook.resolve(CODED_COLUMNS[column], value) or value


def _row_input(row: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {k: _defused((row.get(k) or "").strip()) for k in COLUMNS}
    for name in LIST_COLUMNS:
        data[name] = [_code(name, v) for v in _list(data[name])]
    for name in ("region", "ksic_section"):
        data[name] = _code(name, data[name]) if data[name] else ""
    data["exporting"] = _bool(data["exporting"])
    # An empty cell is a missing value: the rules then say "required" (or use the default), not
    # "invalid".
    return {k: v for k, v in data.items() if v != ""}


def valid_values(kind: str) -> list[tuple[str, str, str]]:
    """(code, name in the reader's language, name in the other) for the page and the errors."""
    other = "en" if current_locale().startswith("ko") else "ko"
    return [
        (term.code, term.name(current_locale()), term.name(other))
        for term in taxonomy.TABLES[kind]()
    ]


def _not_in_list(column: str, value: str) -> str:
    kind = CODED_COLUMNS[column]
    if kind in LISTED_IN_ERRORS:
        values = "; ".join(f"{name} ({code})" for code, name, _other in valid_values(kind))
        return _(
            "“%(value)s” is not in the list. Write a code or a name: %(values)s.",
            value=value,
            values=values,
        )
    return _(
        "“%(value)s” is not in the list. Write a code or a name in English or Korean, "
        "e.g. %(example)s (see “Valid values” on the import page).",
        value=value,
        example=codebook.examples(kind),
    )


def _typed(data: dict[str, Any], path: str) -> str:
    """What the row held at `markets.1` (as typed: the rules upper- or lower-case codes)."""
    column, _dot, index = path.partition(".")
    value = data.get(column, "")
    if isinstance(value, list):
        return str(value[int(index)]) if index.isdigit() and int(index) < len(value) else ""
    return str(value)


def _reasons(fields: dict[str, list[dict[str, Any]]], data: dict[str, Any]) -> list[str]:
    out = []
    for path, messages in translate_errors(fields).items():
        column = path.split(".")[0]
        label = str(COLUMNS.get(column, path))
        for error, message in zip(fields[path], messages, strict=True):
            if error["type"] == "unknown_code" and column in CODED_COLUMNS:
                message = _not_in_list(column, _typed(data, path))
            out.append(f"{label}: {message}")
    return out


@cache
def _header_names() -> dict[str, str]:
    """Folded header -> column code: the codes, and the names in English and in Korean."""
    names = {codebook.fold(code): code for code in COLUMNS}
    for locale in ("en", "ko"):
        with force_locale(locale):
            names.update({codebook.fold(str(label)): code for code, label in COLUMNS.items()})
    return names


def _header(cells: list[str]) -> list[str] | None:
    """The columns a header row names (unknown columns kept as written, to be ignored), or None
    when the row names none of ours (it is data, not a header)."""
    names = _header_names()
    mapped = [names.get(codebook.fold(cell), codebook.fold(cell)) for cell in cells]
    return mapped if any(cell in COLUMNS for cell in mapped) else None


def _read(content: bytes) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The columns, and each row after the header rows with its line number.

    The header is the first row, in codes or in either language's names; when the second row
    also names columns (the exports' and the template's code row), it is a header too."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRejected([], "csv_encoding") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect=dialect)
    header = _header(next(reader, []))
    missing = [c for c in COLUMNS if c not in (header or []) and c not in OPTIONAL_COLUMNS]
    if not header or missing:
        raise ImportRejected(
            [],
            "csv_header",
            columns=", ".join(str(COLUMNS[c]) for c in (missing or list(COLUMNS))),
        )

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        first = True
        for cells in reader:
            if first and _header(cells) is not None:
                first = False
                continue  # the second header row: the codes
            first = False
            yield reader.line_num, dict(zip(header, cells, strict=False))

    return header, rows()


def template_bytes() -> bytes:
    """The file to fill in: the two header rows of the exports, for the columns imported."""
    out = io.StringIO()
    out.write("\ufeff")
    csv.writer(out, lineterminator="\r\n").writerows(header_rows(list(COLUMNS)))
    return out.getvalue().encode("utf-8")


def check(content: bytes) -> list[tuple[int, SMEImportRow]]:
    """Every row, validated; raises ImportRejected listing every rejected line."""
    if not content.strip():
        raise ImportRejected([], "csv_no_file")
    _columns, rows = _read(content)
    valid: list[tuple[int, SMEImportRow]] = []
    rejected: list[RejectedRow] = []
    line = 1
    try:
        for line, row in rows:
            if len(valid) + len(rejected) >= MAX_ROWS:
                raise ImportRejected([], "csv_too_many_rows", n=MAX_ROWS)
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue  # a blank line
            data = _row_input(row)
            try:
                valid.append((line, validate(SMEImportRow, data)))
            except InvalidInput as error:
                rejected.append(RejectedRow(line, _reasons(error.fields, data)))
    except csv.Error as error:
        raise ImportRejected([], "csv_invalid", n=line + 1) from error
    if not valid and not rejected:
        raise ImportRejected([], "csv_empty")
    rejected += _duplicates(valid)
    if rejected:
        raise ImportRejected(sorted(rejected, key=lambda r: r.line))
    return valid


def _duplicates(rows: list[tuple[int, SMEImportRow]]) -> list[RejectedRow]:
    """Emails and business numbers already registered, or seen on an earlier line."""
    emails = [row.email for _line, row in rows]
    numbers = [row.business_number for _line, row in rows]
    taken_emails = set(db.session.scalars(select(User.email).where(User.email.in_(emails))))
    taken_numbers = set(
        db.session.scalars(select(SME.business_number).where(SME.business_number.in_(numbers)))
    )
    seen_email: dict[str, int] = {}
    seen_number: dict[str, int] = {}
    out = []
    for line, row in rows:
        reasons = []
        if row.email in taken_emails:
            reasons.append(_("Email: an account with this email already exists."))
        elif row.email in seen_email:
            reasons.append(_("Email: the same as line %(n)s.", n=seen_email[row.email]))
        if row.business_number in taken_numbers:
            reasons.append(
                _("Business registration number: a company with this number is already registered.")
            )
        elif row.business_number in seen_number:
            reasons.append(
                _(
                    "Business registration number: the same as line %(n)s.",
                    n=seen_number[row.business_number],
                )
            )
        seen_email.setdefault(row.email, line)
        seen_number.setdefault(row.business_number, line)
        if reasons:
            out.append(RejectedRow(line, reasons))
    return out


def import_smes(content: bytes, coordinator: User, *, consent_confirmed: bool) -> list[SME]:
    """Create one SME account per row, in the caller's transaction (it commits or rolls back)."""
    if not consent_confirmed:
        raise ImportRejected([], "csv_consent")
    rows = check(content)
    unusable = accounts.hash_password(secrets.token_urlsafe(32))  # thrown away: see above
    version = current_app.config["CONSENT_POLICY_VERSION"]
    created = []
    for line, row in rows:
        user = User(email=row.email, password_hash=unusable, role=Role.SME, locale="ko")
        user.sme = SME(business_number=row.business_number)
        profiles.apply_sme_profile(user.sme, row)
        db.session.add(user)
        db.session.add(
            Consent(user=user, policy_version=version, collection=True, provision_to_smes=True)
        )
        created.append((line, user))
    db.session.flush()
    for line, user in created:
        audit.record(
            "sme_imported",
            actor=coordinator,
            target=user.sme,
            detail={"line": line, "consent": "attested_by_coordinator", "policy": version},
        )
    audit.record("smes_imported", actor=coordinator, detail={"count": len(created)})
    return [user.sme for _line, user in created if user.sme is not None]
