"""Retention (SECURITY.md item 21): data past its period is purged by a scheduled job."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO
from pathlib import Path

from sqlalchemy import select, update

from app import jobs
from app.extensions import db
from app.models import AuditEvent, Match, MatchStatus, OutboxMessage, User, utcnow
from app.services import cycles, retention


def _age(user: User, years: float) -> None:
    old = utcnow() - timedelta(days=365 * years)
    db.session.execute(
        update(User).where(User.id == user.id).values(created_at=old, last_login_at=old)
    )
    db.session.commit()


def test_inactive_accounts_and_their_files_are_purged(app, client, login_as, student):
    login_as(student)
    client.post(
        "/student/cv",
        data={"cv": (BytesIO(b"%PDF-1.4 x"), "cv.pdf")},
        content_type="multipart/form-data",
    )
    stored = db.session.scalar(select(User).where(User.id == student.id)).student.cv_stored_name
    path = Path(app.config["UPLOAD_DIR"]) / f"{stored}.pdf"
    assert path.exists()
    student_id = student.id
    _age(student, 4)
    jobs.purge_expired_data(app)
    assert db.session.get(User, student_id) is None
    assert not path.exists()
    deleted = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "account_deleted"))
    assert [e.detail["reason"] for e in deleted] == ["retention"]


def test_recent_accounts_coordinators_and_working_pairs_are_kept(app, student, sme, coordinator):
    cycles.run_cycle()
    db.session.execute(update(Match).values(status=MatchStatus.ACTIVE))
    db.session.commit()
    for user in (student, sme, coordinator):
        _age(user, 5)
    report = retention.purge_expired()
    db.session.commit()
    assert report.accounts == 0
    assert {u.id for u in db.session.scalars(select(User))} == {student.id, sme.id, coordinator.id}


def test_a_proposal_alone_does_not_keep_an_account(app, student, sme):
    cycles.run_cycle()  # proposed, not approved
    student_id = student.id
    _age(student, 4)
    report = retention.purge_expired()
    db.session.commit()
    assert report.accounts == 1 and db.session.get(User, student_id) is None


def test_old_emails_are_purged(app, student, sme):
    cycles.run_cycle()
    db.session.execute(update(OutboxMessage).values(created_at=utcnow() - timedelta(days=4 * 365)))
    db.session.commit()
    assert retention.purge_expired().outbox == 2
