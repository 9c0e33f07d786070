"""Language choice, localized names of codes, and the words for every validation error."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache, lru_cache
from typing import Any

from babel.dates import format_skeleton
from babel.support import NullTranslations
from flask import Flask, current_app, g, request, session
from flask_babel import (
    Babel,
    Domain,
    format_date,
    format_datetime,
    format_decimal,
    get_locale,
    ngettext,
)
from flask_babel import get_translations as _babel_translations
from flask_babel import gettext as _
from flask_login import current_user

from app import dates, taxonomy
from app.services.errors import DomainError, InvalidInput


def select_locale() -> str:
    """The reader's language: the header switch, then their account, then Accept-Language."""
    supported = current_app.config["LANGUAGES"]
    chosen = session.get("locale")
    if chosen in supported:
        return str(chosen)
    user = current_user._get_current_object()  # one look-up through the proxy, not four
    if user and user.is_authenticated and user.locale in supported:
        return user.locale
    return (
        request.accept_languages.best_match(supported) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


# --- the reader's catalogue and locale, looked up once per request ---------------------------
#
# Flask-Babel 4 finds the catalogue again for every string it translates: three lookups through
# `g`, the locale, `str(locale)` (Babel rebuilds the identifier) and a dict. A candidates page
# translates about 300 strings and names about 500 codes, and that lookup was two thirds of its
# CPU (issue 14). The catalogue is kept on Flask-Babel's own per-request namespace
# (`g._flask_babel`) in the `babel_translations` slot, the one Flask-Babel's `force_locale` and
# `refresh` already clear and restore: an email composed in its reader's language inside a
# request still gets that language, and the page around it keeps the reader's. Catalogues
# themselves are loaded once per process and locale (Flask-Babel's `Domain.cache`).


def _babel_namespace() -> Any:
    """Flask-Babel's per-request namespace, or None outside an application context."""
    try:  # one context lookup, where `g.get(...) if g else None` makes three
        return g._get_current_object().__dict__.get("_flask_babel")
    except RuntimeError:  # no application context
        return None


class RequestCachedDomain(Domain):
    """Flask-Babel's message domain, resolving the reader's catalogue once per request."""

    def get_translations(self) -> NullTranslations:
        cached = getattr(_babel_namespace(), "babel_translations", None)
        if cached is not None:
            return cached
        found = super().get_translations()
        namespace = _babel_namespace()  # Flask-Babel has made it by now, inside a context
        if namespace is not None:
            namespace.babel_translations = found
        return found


class RequestCachedBabel(Babel):
    """Flask-Babel with `RequestCachedDomain`, and template `gettext` calls that skip the
    domain lookup (Jinja's i18n extension calls them once per `_()` in a template)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._domains: dict[str, RequestCachedDomain] = {}

    @property
    def domain_instance(self) -> RequestCachedDomain:
        # one per domain name (the Babel object is shared by every app the tests create)
        name = self.domain
        if name not in self._domains:
            self._domains[name] = RequestCachedDomain(domain=name)
        return self._domains[name]

    def init_app(self, app: Flask, *args: Any, **kwargs: Any) -> None:
        super().init_app(app, *args, **kwargs)
        if self._configure_jinja:
            # Added to the environment by Jinja's i18n extension, so unknown to its type.
            app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
                gettext=lambda s: _translations().ugettext(s),
                ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
                newstyle=True,
                pgettext=lambda c, s: _translations().upgettext(c, s),
                npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
            )


def _translations() -> NullTranslations:
    """The catalogue for this request: the cached one, else Flask-Babel's lookup (which caches)."""
    cached = getattr(_babel_namespace(), "babel_translations", None)
    return cached if cached is not None else _babel_translations()


def current_locale() -> str:
    """The reader's locale as a string ("en", "ko"), built once per request and locale."""
    namespace = _babel_namespace()
    locale = getattr(namespace, "babel_locale", None)
    if locale is None:  # not chosen yet in this request (or no request): let Flask-Babel choose
        return str(get_locale() or "en")
    named = getattr(namespace, "kx_locale_name", None)
    if named is None or named[0] is not locale:  # first use, or `force_locale` switched it
        named = namespace.kx_locale_name = (locale, str(locale))
    return str(named[1])


# --- names of codes: one dict per locale and process -----------------------------------------
#
# The taxonomy is static (ISO tables named by CLDR, the programme's own lists), so every code's
# name in a locale is looked up once per process: a candidates page names ~580 codes, and going
# through `taxonomy.name` (index, term, locale test) for each was a tenth of its CPU (issue 14).


@cache
def _names(lang: str) -> dict[str, dict[str, str]]:
    """kind → code → name in `lang` ("en" or "ko", the two `Term.name` tells apart)."""
    return {
        kind: {term.code: term.name(lang) for term in table()}
        for kind, table in taxonomy.TABLES.items()
    }


def names_for(locale: str) -> dict[str, dict[str, str]]:
    """Every code's name in `locale`: kind → code → name (built once per process)."""
    return _names("ko" if locale.startswith("ko") else "en")


def code_name(kind: str, code: str | None) -> str:
    """The name of a code in the reader's language; an unknown code is shown as itself."""
    return names_for(current_locale())[kind].get(code, code) if code else ""


def code_names(kind: str, codes: list[str]) -> str:
    names = names_for(current_locale())[kind]
    return ", ".join(names.get(code, code) if code else "" for code in codes)


@lru_cache(maxsize=4096)
def _level_phrase(locale: str, code: str, level: str) -> str:
    return _(
        "%(language)s (%(level)s)",
        language=code_name("languages", code),
        level=code_name("levels", level),
    )


def level_phrase(code: str, level: str) -> str:
    """A language and level ("Vietnamese (Native)"): the same few hundred phrases on every page,
    worded once per locale (the locale is the key: an email composed in another language gets
    its own)."""
    return _level_phrase(current_locale(), code, level)


def error_message(error_type: str, ctx: dict[str, Any]) -> str:
    """One translated sentence per kind of broken rule (app.schemas + pydantic's own types)."""
    messages = {
        "missing": lambda: _("This field is required."),
        "string_too_short": lambda: (
            _("This field is required.")
            if ctx.get("min_length") == 1
            else _("Write at least %(n)s characters.", n=ctx.get("min_length"))
        ),
        "string_too_long": lambda: _("Write at most %(n)s characters.", n=ctx.get("max_length")),
        "too_short": lambda: _("Choose at least %(n)s.", n=ctx.get("min_length")),
        "too_long": lambda: _("Choose at most %(n)s.", n=ctx.get("max_length")),
        "int_parsing": lambda: _("Enter a whole number."),
        "int_type": lambda: _("Enter a whole number."),
        "int_from_float": lambda: _("Enter a whole number."),
        "greater_than_equal": lambda: _("Enter a number of at least %(n)s.", n=ctx.get("ge")),
        "less_than_equal": lambda: _("Enter a number of at most %(n)s.", n=ctx.get("le")),
        "bool_parsing": lambda: _("Choose yes or no."),
        "bool_type": lambda: _("Choose yes or no."),
        "date_from_datetime_parsing": lambda: _("Enter a date as YYYY-MM-DD."),
        "date_parsing": lambda: _("Enter a date as YYYY-MM-DD."),
        "date_type": lambda: _("Enter a date as YYYY-MM-DD."),
        "string_type": lambda: _("Enter text."),
        "list_type": lambda: _("Choose from the list."),
        "dict_type": lambda: _("Send an object."),
        "model_type": lambda: _("Send an object."),
        "value_error": lambda: _("Enter a valid email address."),
        "unknown_code": lambda: _("Choose a value from the list."),
        "duplicates": lambda: _("Each value may be chosen only once."),
        "control_chars": lambda: _("Remove the control characters from this text."),
        "one_language_required": lambda: _(
            "Write this in Korean or in English (at least one of the two)."
        ),
        "invisible_chars": lambda: _(
            "Remove the invisible or direction-changing characters from this name."
        ),
        "period_order": lambda: _("The period must end after it starts."),
        "year_month": lambda: _("Enter a month as YYYY-MM, e.g. 2027-02."),
        "month_in_future": lambda: _("This month has not come yet."),
        "password_short": lambda: _("Use at least 8 characters."),
        "password_long": lambda: _("Use at most 1024 characters."),
        "password_blank": lambda: _("A password cannot be only spaces."),
        "password_common": lambda: _(
            "This password is among the most common ones; choose another."
        ),
        "wrong_password": lambda: _("The current password is not right."),
        "business_number_format": lambda: _(
            "Write the 10 digits of the business registration number, e.g. 123-45-67890."
        ),
        "business_number": lambda: _(
            "This business registration number does not exist (its check digit is wrong)."
        ),
        "consent_renewal": lambda: _(
            "The privacy policy of %(version)s asks for your consent to collection and use again.",
            version=ctx.get("policy_version"),
        ),
        "consent_required": lambda: _(
            "We cannot create an account without your consent to collection and use."
        ),
        "taken": lambda: _("This is already registered. Log in instead?"),
        "file_too_large": lambda: _("The file is larger than %(n)s MB.", n=ctx.get("limit_mb")),
        "not_pdf": lambda: _("Upload a PDF file."),
        "no_file": lambda: _("Choose a file to upload."),
        "not_pending": lambda: _(
            "This proposal has already been decided; reload to see its state."
        ),
        "answer_unchanged": lambda: _("This is already your answer."),
        "answer_final": lambda: _(
            "A coordinator or the other side has acted on this proposal since, so your answer "
            "can no longer be changed; reload to see its state."
        ),
        "pair_moved_on": lambda: _(
            "This decline can no longer be undone: the student or the company has been proposed "
            "elsewhere since, or the company has no free place."
        ),
        "not_accepted": lambda: _(
            "Both the student and the SME must accept first (or give a reason to override)."
        ),
        "capacity_full": lambda: _("This SME has no free place left."),
        "reset_invalid": lambda: _(
            "This reset link is no longer valid (it was used, or it expired). Ask for a new one."
        ),
        "student_busy": lambda: _("This student already has a pending or approved match."),
        "pair_closed": lambda: _("This pair was declined or rejected before."),
        "pair_blocked": lambda: _(
            "A rule does not allow this pair (see why below). To pair them anyway, tick the "
            "override and give a reason."
        ),
        "no_provision_consent": lambda: _(
            "This student has not consented to their profile being given to companies."
        ),
        "student_paused": lambda: _("This student has paused taking part."),
        "email_unverified": lambda: _(
            "This person has not confirmed their email address yet: "
            "send the link again from their page."
        ),
        "verification_invalid": lambda: _(
            "This confirmation link is no longer valid (it was used, or it expired). "
            "Ask for a new one from your dashboard."
        ),
        "no_collection_consent": lambda: _(
            "This company has not consented to the current privacy policy."
        ),
        "datetime_parsing": lambda: _("Enter a date and time, e.g. 2026-03-02T14:00."),
        "datetime_from_date_parsing": lambda: _("Enter a date and time, e.g. 2026-03-02T14:00."),
        "datetime_type": lambda: _("Enter a date and time, e.g. 2026-03-02T14:00."),
        "float_parsing": lambda: _("Enter a number."),
        "float_type": lambda: _("Enter a number."),
        "finite_number": lambda: _("Enter a number."),
        "greater_than": lambda: _("Enter a number greater than %(n)s.", n=ctx.get("gt")),
        "phone_format": lambda: _("Write a phone number, e.g. +82 10-1234-5678."),
        "first_export_date": lambda: _("Give the date of the first export."),
        "date_in_future": lambda: _("This date is in the future."),
        "slot_in_past": lambda: _("Choose a time in the future."),
        "slot_too_far": lambda: _("Choose a time within the next year."),
        "no_such_slot": lambda: _("Choose one of the offered times."),
        "not_active": lambda: _("This is possible only while the work is under way."),
        "not_completed": lambda: _("This is possible once the match is completed."),
        "kickoff_confirmed": lambda: _("The kickoff meeting is already agreed."),
        "no_kickoff": lambda: _("The company has not offered meeting times yet."),
        "already_reviewed": lambda: _("This entry has already been confirmed or disputed."),
        "already_checked_in": lambda: _("You have already checked in this month."),
        "weekly_limit": lambda: _(
            "This would take the week to %(total)s hours, over the legal limit of %(limit)s "
            "hours a week. Talk to your coordinator.",
            total=ctx.get("total"),
            limit=ctx.get("limit"),
        ),
        # the matching settings and the schedule (app.services.match_settings)
        "weights_main_zero": lambda: _(
            "Give at least one of language, target market or industry a weight above 0."
        ),
        "weight_not_finite": lambda: _("Enter a number of at least 0."),
        "time_format": lambda: _("Enter a time as HH:MM, e.g. 06:00."),
        "cron_invalid": lambda: _(
            "This is not a cron expression. Write five fields: minute hour day month weekday, "
            "e.g. 0 6 * * mon (Mondays at 06:00), or choose a day and a time above."
        ),
        # refusals of a request as a whole (DomainError.key: no field named)
        "not_allowed": lambda: _("This action is not allowed here."),
        "wrong_credentials": lambda: _("Wrong email or password."),
        "confirm_deletion": lambda: _("Tick the box to confirm."),
        "match_not_found": lambda: _("This match does not exist."),
        "none_ticked": lambda: _("Tick at least one match first."),
        "cycle_busy": lambda: _(
            "A cycle is already queued or running. Try again when it has finished."
        ),
        "verification_links": lambda: _("Three links were sent in the last hour; try again later."),
        "not_enough_answers": lambda: (
            _(
                "Not enough answers to learn from yet: %(needed)s more needed on each side.",
                needed=ctx.get("needed"),
            )
            if ctx.get("needed")
            else _("The newest or the older answers are all of one kind; wait for more answers.")
        ),
        "weight_set_gone": lambda: _("That weight set no longer exists."),
        # a CSV import refused as a whole (app.services.imports)
        "csv_no_file": lambda: _("Choose a CSV file to upload."),
        "csv_encoding": lambda: _(
            "Save the file as CSV in UTF-8 (in Excel: CSV UTF-8), then upload it again."
        ),
        "csv_header": lambda: _(
            "The first line must name the columns. Missing: %(columns)s.",
            columns=ctx.get("columns"),
        ),
        "csv_too_many_rows": lambda: _("Import at most %(n)s companies per file.", n=ctx.get("n")),
        "csv_invalid": lambda: _("The file is not valid CSV (line %(n)s).", n=ctx.get("n")),
        "csv_empty": lambda: _("The file has no companies in it."),
        "csv_consent": lambda: _(
            "Confirm that the companies agreed to the privacy notice before importing them."
        ),
        "csv_rows_rejected": lambda: ngettext(
            "%(num)d row was rejected, so no company was imported. Correct it and upload "
            "the whole file again.",
            "%(num)d rows were rejected, so no company was imported. Correct them and upload "
            "the whole file again.",
            ctx.get("num", 0),
        ),
    }
    make = messages.get(error_type)
    return make() if make else _("This value is not valid.")


def translate_errors(fields: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
    return {
        field: [error_message(err["type"], err.get("ctx") or {}) for err in errors]
        for field, errors in fields.items()
    }


def error_messages(error: DomainError) -> dict[str, list[str]]:
    """Any refusal in the reader's words, by the field it names ("" for the request as a whole):
    what a form shows beside its fields, a button press flashes and the API sends as JSON."""
    if isinstance(error, InvalidInput):
        return translate_errors(error.fields)
    return {error.field: [error_message(error.key, error.ctx)]}


def _as_datetime(value: datetime | date | None, fmt: str = "medium") -> str:
    """A date or moment in the reader's locale; always a four-digit year (app.dates)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, dates.datetime_format(fmt, current_locale()))
    return format_date(value, dates.date_format(fmt, current_locale()))


def _as_month(value: date | None) -> str:
    """A year and month in the reader's locale ("Feb 2027", "2027년 2월")."""
    return format_skeleton("yMMM", value, locale=current_locale()) if value else ""


def _iso_datetime(value: str | None, fmt: str = "medium") -> str:
    """An ISO 8601 string (as kept in JSON columns) formatted like the `datetime` filter."""
    return _as_datetime(datetime.fromisoformat(value), fmt) if value else ""


@lru_cache(maxsize=16)
def _status_labels(locale: str) -> dict[str, str]:
    # once per locale and process: a list of 25 matches asked for them 25 times, 8 strings each
    return {
        "proposed": _("Proposed"),
        "declined": _("Declined"),
        "approved": _("Approved"),
        "rejected": _("Not approved"),
        "active": _("Active"),
        "completed": _("Completed"),
        "expired": _("Expired (no answer in time)"),
        "withdrawn": _("Withdrawn"),
    }


def status_label(status: str | None) -> str:
    return _status_labels(current_locale()).get(str(status), str(status or ""))


@lru_cache(maxsize=16)
def _decision_labels(locale: str) -> dict[str, str]:
    return {"accept": _("Accepted"), "decline": _("Declined"), "": _("No answer yet")}


def decision_label(decision: str | None) -> str:
    labels = _decision_labels(current_locale())
    return labels.get(decision or "", labels[""])


def written_in(lang: str | None) -> str:
    """The label of a text shown in a language other than the reader's."""
    return {"ko": _("written in Korean"), "en": _("written in English")}.get(lang or "", "")


# The locales whose decimal format writes a whole number as Python's "{:,}" does: groups of
# three digits split by ",", a leading "-" (CLDR's for English and Korean; the test
# `test_number_filter` compares every supported locale with Babel's own output).
_COMMA_GROUPED = frozenset({"en", "ko"})


def format_number(value: Any, format: str | None = None) -> str:  # noqa: A002 - Babel's name
    """The `number` filter: Babel's `format_decimal` in the reader's locale. A whole number in
    English or Korean is written directly: Babel parses its pattern and looks up the locale's
    symbols on every call (~0.1 ms; the coordinators' dashboard shows ~140 numbers, issue 14)."""
    if format is None and type(value) is int and current_locale() in _COMMA_GROUPED:
        return f"{value:,}"
    return format_decimal(value, format)


def init_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["datetime"] = _as_datetime
    app.jinja_env.filters["isodatetime"] = _iso_datetime
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["month"] = _as_month
    app.jinja_env.globals.update(
        status_label=status_label,
        decision_label=decision_label,
        code_name=code_name,
        code_names=code_names,
        level_phrase=level_phrase,
        written_in=written_in,
        current_locale=current_locale,
        taxonomy=taxonomy,
    )
