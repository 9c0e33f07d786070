"""What deletion leaves (issue 12.4) and what the data download gives (issue 12.5)."""

from __future__ import annotations

import json
from io import BytesIO

from kexport_support import PASSWORD
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Match, OutboxMessage
from app.services import accounts, cycles, decisions, tokens, uploads

ADDRESS = "203.0.113.77"


def _everything() -> str:
    db.session.expire_all()
    return "\n".join(
        repr(tuple(row))
        for table in db.metadata.sorted_tables
        for row in db.session.execute(select(table))
    )


def _life_of_a_student(app, student, sme, coordinator):
    """A student who logged in, failed a login, was proposed, accepted, and had their CV read."""
    client = app.test_client()
    environ = {"REMOTE_ADDR": ADDRESS}
    client.post("/login", data={"email": student.email, "password": "wrong"}, environ_base=environ)
    client.post("/login", data={"email": student.email, "password": PASSWORD}, environ_base=environ)
    uploads.save_cv(student.student, BytesIO(b"%PDF-1.4\n"))  # published by the commit
    db.session.commit()
    cycles.run_cycle()
    match = db.session.scalar(select(Match))
    decisions.decide(match.id, student, "accept", note="happy to start")
    decisions.decide(match.id, sme, "accept")
    db.session.commit()
    sme_client = app.test_client()
    sme_client.post("/login", data={"email": sme.email, "password": PASSWORD})
    assert sme_client.get(f"/sme/candidates/{match.id}/cv").status_code == 200
    tokens.issue(student)
    db.session.commit()
    return client, match


def test_deletion_leaves_no_personal_data_in_outbox_or_audit(app, student, sme, coordinator):
    client, _ = _life_of_a_student(app, student, sme, coordinator)
    user_id, name, email = student.id, student.student.name, student.email
    mentioning = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.body_text.contains(name))
    ).all()
    assert any(m.user_id != user_id for m in mentioning)  # the SME was told about the student
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.ip == ADDRESS)) is not None

    assert client.post("/account/delete", data={"confirm": "y"}).status_code == 302

    dump = _everything()
    for personal in (email, name, ADDRESS):
        assert personal not in dump, personal
    audit = db.session.scalars(select(AuditEvent)).all()
    assert not [e for e in audit if e.actor_id == user_id]
    assert not [
        e for e in audit if e.target_type in ("user", "student") and e.target_id in (user_id,)
    ]
    deleted = [e for e in audit if e.action == "account_deleted"]
    assert len(deleted) == 1
    assert deleted[0].actor_id is None and deleted[0].ip is None
    assert deleted[0].detail == {"role": "student", "reason": "self"}
    # The SME's own emails that do not name the student are kept.
    assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.user_id == sme.id))


def test_the_data_download_is_complete(app, student, sme, coordinator):
    client, match = _life_of_a_student(app, student, sme, coordinator)
    data = json.loads(client.get("/account/data.json").get_data(as_text=True))

    (mine,) = data["matches"]
    assert mine["id"] == match.id and mine["score"] == match.score
    assert mine["reasons"] and all(r["text"] for r in mine["reasons"])
    assert mine["student_decision"] == "accept" and mine["student_reason"] == "happy to start"
    assert mine["sme_decision"] == "accept"
    assert mine["profile_given_to"] == {"sme_id": sme.sme.id, "company_name": sme.sme.company_name}

    kinds = {e["kind"] for e in data["emails"]}
    assert "proposal_student" in kinds and "match_sme_accept" in kinds
    assert all(e["body_text"] for e in data["emails"])

    (token,) = data["api_tokens"]
    assert set(token) == {"id", "created_at", "expires_at", "last_used_at", "revoked_at"}

    actions = [(e["action"], e["actor_role"]) for e in data["audit_events"]]
    assert ("cv_downloaded", "sme") in actions  # who downloaded my CV
    assert ("login_failed", "student") in actions or ("login_failed", None) in actions
    downloaded = next(e for e in data["audit_events"] if e["action"] == "cv_downloaded")
    assert downloaded["actor_company"] == sme.sme.company_name


def test_an_sme_download_lists_its_matches_without_withdrawn_students(app, student, sme):
    cycles.run_cycle()
    db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": sme.email, "password": PASSWORD})
    data = client.get("/account/data.json").json
    assert [m["student_id"] for m in data["matches"]] == [student.student.id]
    accounts.update_consent(student, {"collection": True, "provision_to_smes": False})
    db.session.commit()
    data = client.get("/account/data.json").json
    assert data["matches"] == []
