"""Who may be proposed: ONE rule for a cycle's pool and a coordinator's pair by hand.

A student may be put before an SME only with consent to provision under the policy in force,
while not paused, and (with REQUIRE_EMAIL_VERIFICATION) with a verified address; an SME only with
consent to collection and (likewise) a verified address. A coordinator's override bypasses the
fit rules (a busy student, a full SME, a pair closed before), never these: without them no SME
may receive the profile or the CV.

Each rule is one SQL condition, named by the error code that explains it. The cycle's pool query
puts them all in its WHERE clause; `why_not_student`/`why_not_sme` select the same conditions as
columns for one person and name the first that fails.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import SME, Consent, Student, User


def latest_consents(user_ids: Any = None) -> Any:
    """Each person's latest answer to the privacy notice, as a subquery; with `user_ids` (a
    subquery of user ids), only those people's: the same answers, without grouping every
    user's consents when a page asks about a few people (issue 14)."""
    per_user = select(func.max(Consent.id).label("id"))
    if user_ids is not None:
        per_user = per_user.where(Consent.user_id.in_(user_ids))
    latest = per_user.group_by(Consent.user_id).subquery("latest")
    return select(Consent).join(latest, Consent.id == latest.c.id).subquery("consent")


def _verified() -> dict[str, ColumnElement[bool]]:
    if not current_app.config["REQUIRE_EMAIL_VERIFICATION"]:
        return {}
    return {"email_unverified": User.email_verified_at.is_not(None)}


def _student_rules(consent: Any) -> dict[str, ColumnElement[bool]]:
    version = current_app.config["CONSENT_POLICY_VERSION"]
    return {
        "no_provision_consent": (
            consent.c.collection.is_(True)
            & consent.c.provision_to_smes.is_(True)
            & (func.coalesce(consent.c.policy_version, "") == version)
        ),
        "student_paused": Student.paused.is_(False),
        **_verified(),
    }


def _sme_rules(consent: Any) -> dict[str, ColumnElement[bool]]:
    return {"no_collection_consent": consent.c.collection.is_(True), **_verified()}


def _consents_of(
    model: type[Student] | type[SME], among: Collection[int] | None
) -> tuple[Any, tuple[ColumnElement[bool], ...]]:
    """The latest answers a pool query joins, and its condition on the people asked about:
    everyone's (no condition), or with `among` only those people's (their ids)."""
    if among is None:
        return latest_consents(), ()
    ids = list(among)
    users = select(model.user_id).where(model.id.in_(ids))
    return latest_consents(users), (model.id.in_(ids),)


def eligible_students(among: Collection[int] | None = None) -> Select[int]:
    """The ids of every student a cycle may propose, in id order; with `among`, of those
    students only (the same rule, reading only their consents)."""
    consent, chosen = _consents_of(Student, among)
    rules = _student_rules(consent)
    return (
        select(Student.id)
        .join(User, User.id == Student.user_id)
        .join(consent, consent.c.user_id == Student.user_id)
        .where(*chosen, *rules.values())
        .order_by(Student.id)
    )


def eligible_smes(among: Collection[int] | None = None) -> Select[int, int]:
    """(id, capacity) of every SME a cycle may propose students to, in id order; with
    `among`, of those SMEs only (the same rule, reading only their consents)."""
    consent, chosen = _consents_of(SME, among)
    rules = _sme_rules(consent)
    return (
        select(SME.id, SME.capacity)
        .join(User, User.id == SME.user_id)
        .join(consent, consent.c.user_id == SME.user_id)
        .where(*chosen, *rules.values())
        .order_by(SME.id)
    )


def shown_to_smes(student_id: Any) -> ColumnElement[bool]:
    """Whether the student `student_id` (a column of the enclosing query, e.g. `Match.student_id`)
    may be seen by any SME, in a current proposal or in the history of past ones: their latest
    answer to the privacy notice (the highest id) still consents to collection and provision.
    Withdrawal hides them everywhere.

    A correlated `EXISTS` on that one student's consent rows: one consenting row with no later
    row of the same user. Each listed row costs two lookups in `ix_consents_user_id_id`
    (user_id, id), where computing every user's latest answer (`latest_consents`) cost a
    GROUP BY over the whole table on every page an SME opens (issue 14)."""
    later = aliased(Consent)
    return exists().where(
        Student.id == student_id,
        Consent.user_id == Student.user_id,
        Consent.collection.is_(True),
        Consent.provision_to_smes.is_(True),
        ~exists().where(later.user_id == Consent.user_id, later.id > Consent.id),
    )


def _first_failing(model: Any, row_id: int, rules_of: Any) -> str | None:
    consent = latest_consents()
    rules = rules_of(consent)
    row = db.session.execute(
        select(*(rule.label(name) for name, rule in rules.items()))
        .select_from(model)
        .join(User, User.id == model.user_id)
        .outerjoin(consent, consent.c.user_id == model.user_id)
        .where(model.id == row_id)
    ).one_or_none()
    if row is None:
        return None
    # NULL (no consent row at all) fails like false.
    return next((name for name, ok in row._mapping.items() if not ok), None)


def why_not_student(student_id: int) -> str | None:
    """The code of the first rule this student fails, or None when a cycle may propose them."""
    return _first_failing(Student, student_id, _student_rules)


def why_not_sme(sme_id: int) -> str | None:
    """The code of the first rule this SME fails, or None when a cycle may propose to it."""
    return _first_failing(SME, sme_id, _sme_rules)
