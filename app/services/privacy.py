"""PIPA as product features: a person's copy of their data; deletion after the retention period."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, update

from app.extensions import db
from app.models import (
    SME,
    ApiToken,
    AuditEvent,
    Consent,
    LoginFailure,
    Match,
    OutboxMessage,
    RateLimitHit,
    User,
)
from app.services import audit, profiles, visibility, workspace
from app.services.explanations import reason_text


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_user_data(user: User) -> dict[str, Any]:
    consents = db.session.scalars(
        select(Consent).where(Consent.user_id == user.id).order_by(Consent.id)
    )
    data: dict[str, Any] = {
        "account": {
            "email": user.email,
            "role": str(user.role),
            "locale": user.locale,
            "created_at": user.created_at.isoformat(),
            "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
        },
        "consents": [
            {
                "policy_version": c.policy_version,
                "collection": c.collection,
                "provision_to_smes": c.provision_to_smes,
                "given_at": c.given_at.isoformat(),
            }
            for c in consents
        ],
    }
    if user.student:
        data["student"] = profiles.student_dict(user.student)
    if user.sme:
        data["sme"] = profiles.sme_dict(user.sme)
    data["matches"] = _matches_of(user)
    data["emails"] = [
        {
            "kind": m.kind,
            "recipient": m.recipient,
            "subject": m.subject,
            "body_text": m.body_text,
            "status": m.status,
            "created_at": _iso(m.created_at),
            "sent_at": _iso(m.sent_at),
        }
        for m in db.session.scalars(
            select(OutboxMessage).where(_outbox_of(user)).order_by(OutboxMessage.id)
        )
    ]
    data["api_tokens"] = [
        {
            "id": t.id,
            "created_at": _iso(t.created_at),
            "expires_at": _iso(t.expires_at),
            "last_used_at": _iso(t.last_used_at),
            "revoked_at": _iso(t.revoked_at),
        }
        for t in db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
        )
    ]
    data["audit_events"] = _audit_about(user)
    data["after_the_match"] = workspace.export_for(user)
    audit.record("data_exported", actor=user, target=user)
    return data


def _matches_of(user: User) -> list[dict[str, Any]]:
    """A student's matches: scores, reasons, decisions, notes, and which SME got the profile.
    An SME's: the ones it may still see (a student who withdrew consent is not its data)."""

    if not (user.student or user.sme):
        return []
    audience = "student" if user.student else "sme"
    conditions = visibility.conditions_for(user)
    out = []
    for m in db.session.scalars(select(Match).where(*conditions).order_by(Match.id)):
        row: dict[str, Any] = {
            "id": m.id,
            "cycle": m.cycle_id,
            "status": str(m.status),
            "proposed_by": m.proposed_by,
            "score": m.score,
            "reasons": [
                {
                    "factor": r.get("factor"),
                    "weight": r.get("weight"),
                    "text": reason_text(r, audience),
                }
                for r in m.reasons or []
            ],
            "student_decision": m.student_decision,
            "sme_decision": m.sme_decision,
            "created_at": _iso(m.created_at),
            "updated_at": _iso(m.updated_at),
        }
        if user.student:
            row["student_reason"] = m.student_reason
            row["coordinator_note"] = m.coordinator_note
            row["outcome"] = m.outcome
            row["profile_given_to"] = {"sme_id": m.sme_id, "company_name": m.sme.company_name}
        else:
            row["student_id"] = m.student_id
            row["sme_reason"] = m.sme_reason
            row["sme_shortlisted"] = m.sme_shortlisted
        out.append(row)
    return out


def _targets_of(user: User) -> ColumnElement[bool]:
    """Audit entries whose target is this person (their account, student or SME record)."""
    targets = [(AuditEvent.target_type == "user") & (AuditEvent.target_id == user.id)]
    if user.student:
        targets.append(
            (AuditEvent.target_type == "student") & (AuditEvent.target_id == user.student.id)
        )
    if user.sme:
        targets.append((AuditEvent.target_type == "sme") & (AuditEvent.target_id == user.sme.id))
    return or_(*targets)


def _audit_about(user: User) -> list[dict[str, Any]]:
    """What the trail says about this person: their own actions, and who looked at their data
    (a coordinator's view, an SME's CV download), with the company when the viewer is an SME."""
    events = db.session.scalars(
        select(AuditEvent)
        .where(or_(AuditEvent.actor_id == user.id, _targets_of(user)))
        .order_by(AuditEvent.id)
    ).all()
    actor_ids = {e.actor_id for e in events if e.actor_id and e.actor_id != user.id}
    companies = dict(
        db.session.execute(
            select(SME.user_id, SME.company_name).where(SME.user_id.in_(actor_ids))
        ).all()
        if actor_ids
        else []
    )
    return [
        {
            "at": _iso(e.at),
            "action": e.action,
            "by_me": e.actor_id == user.id,
            "actor_role": e.actor_role,
            "actor_company": companies.get(e.actor_id) if e.actor_id else None,
            "ip": e.ip if e.actor_id == user.id else None,
            "target_type": e.target_type,
            "detail": e.detail,
        }
        for e in events
    ]


def _outbox_of(user: User) -> ColumnElement[bool]:
    return or_(OutboxMessage.user_id == user.id, OutboxMessage.recipient == user.email)


def _names_of(user: User) -> list[str]:
    names = [user.email]
    if user.student:
        names.append(user.student.name)
    if user.sme:
        names += [user.sme.company_name_ko or "", user.sme.company_name_en or ""]
        names.append(user.sme.contact_name)
    # A one-letter name would match half the outbox: those emails go with the matches' rows.
    return [n for n in names if len(n) >= 2]


def forget(user: User) -> None:
    """Before an account is deleted: remove or anonymise what other tables keep about it.

    Emails to the person and emails naming them are deleted; the audit trail keeps what
    happened but no longer who did it or from where; failed-login rows and rate-limit counts
    keyed by their email go. The caller records the one entry that says an account was deleted."""
    naming = [OutboxMessage.body_text.contains(name, autoescape=True) for name in _names_of(user)]
    db.session.execute(
        delete(OutboxMessage)
        .where(or_(_outbox_of(user), *naming))
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(AuditEvent)
        .where(AuditEvent.actor_id == user.id)
        .values(actor_id=None, ip=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(AuditEvent)
        .where(_targets_of(user))
        .values(target_id=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(delete(LoginFailure).where(LoginFailure.email == user.email))
    email_key = hashlib.sha256(user.email.encode("utf-8", "surrogatepass")).hexdigest()
    db.session.execute(delete(RateLimitHit).where(RateLimitHit.key_hash == email_key))
