"""Proposal emails: one per person, in their language, over real SMTP or into the outbox."""

from __future__ import annotations

from kexport_support import free_port, smtp_inbox
from sqlalchemy import select

from app.extensions import db
from app.models import CycleStatus, OutboxMessage
from app.services import cycles, mail


def test_without_a_mail_server_messages_stay_in_the_outbox(student, sme):
    cycles.run_cycle()
    messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.kind)).all()
    assert [m.kind for m in messages] == ["proposal_sme", "proposal_student"]
    assert {m.status for m in messages} == {"stored"}
    assert {m.recipient for m in messages} == {student.email, sme.email}


def test_each_person_is_written_to_in_their_own_language(student, sme):
    student.locale, sme.locale = "ko", "en"
    db.session.commit()
    cycles.run_cycle()
    by_kind = {m.kind: m for m in db.session.scalars(select(OutboxMessage))}
    student_mail, sme_mail = by_kind["proposal_student"], by_kind["proposal_sme"]
    assert student_mail.locale == "ko" and sme_mail.locale == "en"
    assert "한빛코스메틱" in student_mail.subject
    assert "You have been proposed" not in student_mail.subject  # translated, not English
    assert "new candidate" in sme_mail.subject
    assert "/student/" in student_mail.body_text and "<a href=" in student_mail.body_html
    assert "http://" in student_mail.body_text  # an absolute link: it is read outside the site


def test_with_a_mail_server_messages_go_over_smtp(student, sme, inbox):
    cycle = cycles.run_cycle()
    assert cycle.status == CycleStatus.FINISHED
    assert len(inbox.messages) == 2
    received = {m["To"]: m for m in inbox.messages}
    to_student = received[student.email]
    assert to_student.get_body(("plain",)) is not None
    assert to_student.get_body(("html",)) is not None
    assert {m.status for m in db.session.scalars(select(OutboxMessage))} == {"sent"}


def test_a_mail_failure_never_fails_the_cycle_and_is_retried(student, sme, app, monkeypatch):
    port = free_port()  # nothing listens here
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    cycle = cycles.run_cycle()
    assert cycle.status == CycleStatus.FINISHED and cycle.n_proposed == 1
    pending = db.session.scalars(select(OutboxMessage)).all()
    assert {m.status for m in pending} == {"pending"}
    assert all(m.attempts == 1 and m.last_error for m in pending)

    with smtp_inbox(port) as (collected, _):
        assert mail.deliver_pending() == {"sent": 2, "failed": 0}
    assert len(collected.messages) == 2
    assert {m.status for m in db.session.scalars(select(OutboxMessage))} == {"sent"}


def test_a_notification_failure_leaves_proposals_to_be_notified_later(student, sme, monkeypatch):
    from app.models import Match
    from app.services import notifications

    def broken(*args, **kwargs):
        raise RuntimeError("template missing")

    monkeypatch.setattr(mail, "compose", broken)
    cycle = cycles.run_cycle()
    assert cycle.status == CycleStatus.FINISHED and cycle.n_proposed == 1
    assert db.session.scalar(select(Match.notified_at)) is None
    assert db.session.scalars(select(OutboxMessage)).all() == []

    monkeypatch.undo()
    notifications.send_pending()
    notifications.send_pending()  # a second pass finds nothing new: each proposal mailed once
    assert db.session.scalar(select(Match.notified_at)) is not None
    assert len(db.session.scalars(select(OutboxMessage)).all()) == 2
