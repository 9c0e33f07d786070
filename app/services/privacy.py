"""PIPA as product features: a person's copy of their data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Consent, User
from app.services import audit, profiles


def export_user_data(user: User) -> dict[str, Any]:
    consents = db.session.scalars(
        select(Consent).where(Consent.user_id == user.id).order_by(Consent.given_at)
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
    audit.record("data_exported", actor=user, target=user)
    return data
