"""Pairing by hand, as a coordinator does it: find the student and the SME, see the pair as the
next cycle would, then propose it (`decisions.pair` holds the rules); and the students no SME
fits yet, with their closest SMEs (where a coordinator looks for whom to pair by hand)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import SME, Match, Student, User
from app.services import decisions, directory, engine_gateway, match_settings
from app.services.errors import InvalidInput, NotFound
from app.services.explanations import block_text, reason_text

SEARCH_LIMIT = 50  # options per side on the page: a search narrows, it never lists everyone


def search(student_q: str | None, sme_q: str | None) -> dict[str, Any]:
    """The two searches, as the page shows them: each text cleaned, with its first options."""
    student_text = directory._search_text({"q": student_q})
    sme_text = directory._search_text({"q": sme_q})
    return {
        "student_q": student_text,
        "sme_q": sme_text,
        "student_options": db.session.scalars(
            directory.student_query(directory.StudentFilters(q=student_text)).limit(SEARCH_LIMIT)
        ).all(),
        "sme_options": db.session.scalars(
            directory.sme_query(directory.SMEFilters(q=sme_text)).limit(SEARCH_LIMIT)
        ).all(),
    }


def ids(student_raw: Any, sme_raw: Any) -> tuple[int | None, int | None]:
    """The two ids as typed or picked; None for one that is missing or not a number."""
    return id_of(student_raw), id_of(sme_raw)


def chosen(student_raw: Any, sme_raw: Any) -> tuple[int, int]:
    """Both ids; each one missing (or not a number) is a field to fill in."""
    student_id, sme_id = ids(student_raw, sme_raw)
    missing = {
        name: [{"type": "missing", "ctx": {}}]
        for name, value in (("student_id", student_id), ("sme_id", sme_id))
        if value is None
    }
    if student_id is None or sme_id is None:
        raise InvalidInput(missing)
    return student_id, sme_id


def preview(student_raw: Any, sme_raw: Any) -> dict[str, Any]:
    """The pair as the next cycle would see it (score, reasons, what blocks it), before anything
    is written: the same answer as GET /api/v1/pairs/{student_id}/{sme_id}. An id that names
    nobody is a field to correct."""
    student_id, sme_id = chosen(student_raw, sme_raw)
    try:
        check = engine_gateway.check_pair(student_id, sme_id, match_settings.engine_weights())
    except NotFound:
        unknown = "student_id" if db.session.get(Student, student_id) is None else "sme_id"
        raise InvalidInput.single(unknown, "unknown_code", code="") from None
    return {
        "student": db.session.get(Student, student_id),
        "sme": db.session.get(SME, sme_id),
        "score": check.score,
        "student_view": check.student_view,
        "sme_view": check.sme_view,
        "acceptable": check.acceptable,
        "blocks": [block_text(code, check.blocked_params.get(code)) for code in check.blocked],
        "reasons": [
            (r, reason_text(r)) for r in sorted(check.reasons, key=lambda r: -r.get("weight", 0))
        ],
    }


def preview_if_any(student_raw: Any, sme_raw: Any) -> dict[str, Any] | None:
    """The preview beside a refusal: none when an id is missing or names nobody."""
    try:
        return preview(student_raw, sme_raw)
    except InvalidInput:
        return None


def propose(
    student_raw: Any, sme_raw: Any, coordinator: User, *, reason: str = "", override: bool = False
) -> Match:
    """Propose the pair (the cycle's rules apply unless overridden with a reason)."""
    student_id, sme_id = chosen(student_raw, sme_raw)
    return decisions.pair(student_id, sme_id, coordinator, reason=reason, override=override)


def no_fit() -> dict[str, Any]:
    """Students for whom no SME is acceptable yet (`rows`, each with its closest SMEs and what
    is missing), with the students and SMEs they name, by id."""
    settings = match_settings.current()
    rows = engine_gateway.no_fit_yet(match_settings.engine_weights(), settings["expiry_days"])
    student_ids = [r.student_id for r in rows]
    sme_ids = {c.sme_id for r in rows for c in r.closest}
    return {
        "rows": rows,
        "students": {
            s.id: s for s in db.session.scalars(select(Student).where(Student.id.in_(student_ids)))
        },
        "smes": {s.id: s for s in db.session.scalars(select(SME).where(SME.id.in_(sme_ids)))},
    }


def id_of(value: Any) -> int | None:
    """A whole number as typed (spaces around allowed), or None."""
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None
