"""Telling people about new proposals, after the cycle that made them has committed.

Kept out of the cycle's transaction on purpose: composing a thousand emails in two languages
takes longer than the engine, and the cycle's lock should not wait on it. A proposal carries
`notified_at`; whatever is not yet notified (a crash between the two steps included) is picked up
by the next call, from the cycle or from the scheduler's mail job.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select, update

from app.extensions import db
from app.models import SME, Match, MatchStatus, Student, User, utcnow
from app.services import mail, match_settings
from app.services.engine_gateway import chunks
from app.services.explanations import top_reasons

log = logging.getLogger(__name__)


def send_pending() -> None:
    """Queue and deliver what is waiting; never raises (the outbox keeps what failed)."""
    try:
        queue_new_proposals()
        db.session.commit()
        mail.deliver_pending()
    except Exception:  # noqa: BLE001 - a mail problem must not fail the caller
        db.session.rollback()
        log.exception("sending notifications failed; they will be retried")


def queue_new_proposals() -> int:
    """One email per proposed student, one per SME with new proposals, each in its language."""
    rows = db.session.execute(
        select(Match.id, Match.student_id, Match.sme_id, Match.reasons)
        .where(Match.status == MatchStatus.PROPOSED, Match.notified_at.is_(None))
        .order_by(Match.id)
    ).all()
    if not rows:
        return 0
    expiry_days = match_settings.current()["expiry_days"]
    people = _people(sorted({r.student_id for r in rows}), sorted({r.sme_id for r in rows}))
    by_sme: dict[int, list[Any]] = {}
    for row in rows:
        by_sme.setdefault(row.sme_id, []).append(row)

    messages: list[dict[str, Any]] = []
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_URL"]):
        student_link = url_for("students.dashboard", _external=True)
        sme_link = url_for("smes.dashboard", _external=True)
        for row in rows:
            student, sme = people[("student", row.student_id)], people[("sme", row.sme_id)]
            locale = student.locale or "en"
            with force_locale(locale):
                reasons = top_reasons(row.reasons, audience="student")
            content = mail.compose(
                "proposal_student",
                locale,
                lambda c=sme.name: _("You have been proposed to %(company)s", company=c),
                name=student.name,
                company=sme.name,
                reasons=reasons,
                expiry_days=expiry_days,
                link=student_link,
            )
            messages.append(_message(student, "proposal_student", locale, content))
        for sme_id, sme_rows in by_sme.items():
            sme = people[("sme", sme_id)]
            locale = sme.locale or "ko"
            count = len(sme_rows)
            content = mail.compose(
                "proposal_sme",
                locale,
                lambda n=count: ngettext(
                    "%(num)s new candidate for your company",
                    "%(num)s new candidates for your company",
                    n,
                ),
                company=sme.name,
                count=count,
                expiry_days=expiry_days,
                link=sme_link,
            )
            messages.append(_message(sme, "proposal_sme", locale, content))
    mail.queue_many(messages)
    ids = [row.id for row in rows]
    for chunk in chunks(ids):
        db.session.execute(
            update(Match)
            .where(Match.id.in_(chunk))
            .values(notified_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return len(messages)


def _people(student_ids: list[int], sme_ids: list[int]) -> dict[tuple[str, int], Any]:
    people: dict[tuple[str, int], Any] = {}
    for chunk in chunks(student_ids):
        for row in db.session.execute(
            select(Student.id, Student.name, User.id.label("user_id"), User.email, User.locale)
            .join(User, User.id == Student.user_id)
            .where(Student.id.in_(chunk))
        ):
            people[("student", row.id)] = row
    for chunk in chunks(sme_ids):
        for row in db.session.execute(
            select(
                SME.id,
                SME.company_name.label("name"),
                User.id.label("user_id"),
                User.email,
                User.locale,
            )
            .join(User, User.id == SME.user_id)
            .where(SME.id.in_(chunk))
        ):
            people[("sme", row.id)] = row
    return people


def _message(person: Any, kind: str, locale: str, content: dict[str, str]) -> dict[str, Any]:
    return {
        "recipient": person.email,
        "user_id": person.user_id,
        "locale": locale,
        "kind": kind,
        **content,
    }
