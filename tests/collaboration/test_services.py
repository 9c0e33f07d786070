"""The second half of the journey through its services: each step's rules and transitions."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from email import message_from_string
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Activity,
    AuditEvent,
    CheckIn,
    Kickoff,
    Match,
    MatchStatus,
    Message,
    OutboxMessage,
    utcnow,
)
from app.services import (
    accounts,
    checkins,
    kickoff,
    outcomes,
    stats,
    threads,
    worklog,
    workspace,
)
from app.services.decisions import NotFound
from app.services.errors import Conflict, InvalidInput, TooManyAttempts

PDF = b"%PDF-1.4\n% a report\n%%EOF\n"


def _slots(n: int = 2) -> dict[str, Any]:
    start = datetime.now(UTC) + timedelta(days=3)
    return {
        "slots": [
            {"starts_at": (start + timedelta(days=i)).isoformat(), "place": f"Room {i}"}
            for i in range(n)
        ]
    }


def _activate(pair: Any, slot: int = 0) -> None:
    kickoff.offer(pair.match_id, pair.sme, _slots())
    kickoff.confirm(pair.match_id, pair.student, {"slot": slot})
    db.session.commit()


def _audit(action: str) -> int:
    return db.session.scalar(select(func.count()).where(AuditEvent.action == action)) or 0


# --- 1. contact ---------------------------------------------------------------------------------


def test_contact_only_after_approval_and_only_for_the_match(
    proposed_pair: Any, make_student: Any
) -> None:
    pair = proposed_pair
    access = workspace.visible(pair.student, pair.match_id)
    assert workspace.contact_for(access, pair.student) is None  # proposed: nothing
    for outsider in (pair.outsider_student, pair.outsider_sme):
        with pytest.raises(NotFound):
            workspace.visible(outsider, pair.match_id)


def test_contact_after_approval_is_audited_and_hidden_when_consent_is_withdrawn(pair: Any) -> None:
    workspace.update_contact(
        pair.student, {"phone": "+82 10-1234-5678", "messenger": "Kakao: linh"}
    )
    workspace.update_contact(pair.sme, {"phone": "031-123-4567", "address": "경기도 성남시"})
    db.session.commit()
    access = workspace.visible(pair.sme, pair.match_id)
    contact = workspace.contact_for(access, pair.sme)
    assert contact["student"] == {
        "name": "Nguyen Thi Linh",
        "email": "linh@example.org",
        "phone": "+82 10-1234-5678",
        "messenger": "Kakao: linh",
    }
    assert contact["sme"]["address"] == "경기도 성남시"
    assert _audit("contact_viewed") == 1
    accounts.update_consent(pair.student, {"collection": True, "provision_to_smes": False})
    db.session.commit()
    assert workspace.contact_for(access, pair.sme) is None


def test_contact_details_are_validated(pair: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        workspace.update_contact(pair.student, {"phone": "call me maybe"})
    assert "phone" in caught.value.fields


# --- 2. kickoff ----------------------------------------------------------------------------------


def test_kickoff_makes_the_match_active_and_sends_an_ics_to_the_sme(pair: Any) -> None:
    """The student who picked the time is not emailed about it (the page offers the .ics)."""
    kickoff.offer(pair.match_id, pair.sme, _slots(3))
    db.session.commit()
    assert pair.match.status == MatchStatus.APPROVED
    kickoff.confirm(pair.match_id, pair.student, {"slot": 1})
    db.session.commit()
    match = pair.match
    assert match.status == MatchStatus.ACTIVE
    assert match.activated_at is not None
    invitations = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "kickoff_confirmed")
    ).all()
    assert {m.recipient for m in invitations} == {"export@hanbit.example"}
    ics = invitations[0].attachments[0]
    assert ics["mimetype"] == "text/calendar"
    event = Calendar.from_ical(ics["content"]).walk("VEVENT")[0]
    assert str(event["location"]) == "Room 1"
    chosen = db.session.get(Kickoff, pair.match_id)
    assert event.decoded("dtstart") == chosen.starts_at


def test_a_kickoff_is_picked_once(pair: Any) -> None:
    kickoff.offer(pair.match_id, pair.sme, _slots())
    kickoff.confirm(pair.match_id, pair.student, {"slot": 0})
    with pytest.raises(Conflict):
        kickoff.confirm(pair.match_id, pair.student, {"slot": 1})
    with pytest.raises(Conflict):
        kickoff.offer(pair.match_id, pair.sme, _slots())


def test_kickoff_rules(pair: Any) -> None:
    past = {"slots": [{"starts_at": "2020-01-01T10:00", "place": "Seoul"}]}
    with pytest.raises(InvalidInput) as caught:
        kickoff.offer(pair.match_id, pair.sme, past)
    assert caught.value.fields["slots.0.starts_at"][0]["type"] == "slot_in_past"
    with pytest.raises(InvalidInput):
        kickoff.offer(pair.match_id, pair.sme, _slots(4))
    with pytest.raises(NotFound):  # the student does not offer times
        kickoff.offer(pair.match_id, pair.student, _slots())
    with pytest.raises(Conflict):  # nothing offered yet
        kickoff.confirm(pair.match_id, pair.student, {"slot": 0})
    kickoff.offer(pair.match_id, pair.sme, _slots(1))
    with pytest.raises(InvalidInput):
        kickoff.confirm(pair.match_id, pair.student, {"slot": 2})


def test_a_naive_time_is_korea_time(pair: Any) -> None:
    when = (datetime.now(UTC) + timedelta(days=5)).strftime("%Y-%m-%dT10:00")
    kickoff.offer(pair.match_id, pair.sme, {"slots": [{"starts_at": when, "place": "Busan"}]})
    stored = datetime.fromisoformat(db.session.get(Kickoff, pair.match_id).slots[0]["starts_at"])
    assert stored.hour == 1  # 10:00 in Seoul is 01:00 UTC


def test_the_reminder_is_sent_once_24_hours_before(pair: Any) -> None:
    _activate(pair)
    meeting = db.session.get(Kickoff, pair.match_id).starts_at
    assert kickoff.send_reminders(meeting - timedelta(hours=30)) == 0
    assert kickoff.send_reminders(meeting - timedelta(hours=20)) == 1
    assert kickoff.send_reminders(meeting - timedelta(hours=19)) == 0
    db.session.commit()
    reminders = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "kickoff_reminder")
    ).all()
    assert len(reminders) == 2


# --- 3. messages ---------------------------------------------------------------------------------


def test_no_thread_before_approval(proposed_pair: Any) -> None:
    with pytest.raises(NotFound):
        threads.post(proposed_pair.match_id, proposed_pair.student, {"body": "hi"})
    with pytest.raises(NotFound):
        threads.read(proposed_pair.match_id, proposed_pair.sme)
    with pytest.raises(NotFound):
        kickoff.offer(proposed_pair.match_id, proposed_pair.sme, _slots())


def test_messages_read_marks_and_strangers(pair: Any) -> None:
    threads.post(pair.match_id, pair.student, {"body": "안녕하세요 <b>hi</b>"})
    db.session.commit()
    assert threads.unread_counts(pair.sme, [pair.match_id]) == {pair.match_id: 1}
    assert threads.read(pair.match_id, pair.student).read_by_other == 0
    thread = threads.read(pair.match_id, pair.sme)
    assert thread.unread == 1 and thread.messages[0].body == "안녕하세요 <b>hi</b>"
    db.session.commit()
    assert threads.unread_counts(pair.sme, [pair.match_id]) == {}
    assert threads.read(pair.match_id, pair.student).read_by_other == thread.messages[0].id
    for outsider in (pair.outsider_student, pair.outsider_sme):
        with pytest.raises(NotFound):
            threads.post(pair.match_id, outsider, {"body": "let me in"})
    threads.post(pair.match_id, pair.coordinator, {"body": "Coordinator here"})


def test_a_message_with_a_pdf_and_without_one(pair: Any) -> None:
    message, change = threads.post(
        pair.match_id, pair.sme, {"body": "the brochure"}, io.BytesIO(PDF)
    )
    assert change.new and message.attachment == change.new
    assert message.attachment_size == len(PDF)
    with pytest.raises(InvalidInput) as caught:
        threads.post(pair.match_id, pair.sme, {"body": "x"}, io.BytesIO(b"MZ not a pdf"))
    assert caught.value.fields["attachment"][0]["type"] == "not_pdf"
    with pytest.raises(InvalidInput):
        threads.post(pair.match_id, pair.sme, {"body": "   "})


def test_messages_are_rate_limited(pair: Any, app: Any) -> None:
    app.config["MESSAGE_LIMIT"] = 3
    try:
        for n in range(3):
            threads.post(pair.match_id, pair.student, {"body": f"message {n}"})
        with pytest.raises(TooManyAttempts):
            threads.post(pair.match_id, pair.student, {"body": "one too many"})
    finally:
        app.config["MESSAGE_LIMIT"] = 30


def test_unread_emails_at_most_once_an_hour_and_escaped(pair: Any) -> None:
    threads.post(pair.match_id, pair.student, {"body": "<script>alert(1)</script> & more"})
    db.session.commit()
    now = utcnow()
    assert threads.notify_unread(now) == 1  # the SME; the student wrote it
    threads.post(pair.match_id, pair.student, {"body": "second"})
    assert threads.notify_unread(now + timedelta(minutes=30)) == 0
    assert threads.notify_unread(now + timedelta(minutes=61)) == 1
    assert threads.notify_unread(now + timedelta(minutes=200)) == 0  # nothing new since
    db.session.commit()
    first = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.kind == "messages_unread")
        .order_by(OutboxMessage.id)
    ).first()
    assert "<script>" not in first.body_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in first.body_html
    assert "<script>alert(1)</script> & more" in first.body_text


# --- 4. work log ---------------------------------------------------------------------------------


def test_work_log_needs_an_active_match_and_the_student(pair: Any) -> None:
    entry = {"kind": "translation", "date": date.today().isoformat(), "hours": 2}
    with pytest.raises(Conflict):
        worklog.log(pair.match_id, pair.student, entry)
    _activate(pair)
    with pytest.raises(NotFound):
        worklog.log(pair.match_id, pair.sme, entry)
    activity, _stored = worklog.log(pair.match_id, pair.student, entry, io.BytesIO(PDF))
    assert activity.status == "logged" and activity.attachment
    worklog.review(pair.match_id, activity.id, pair.sme, {"decision": "confirm"})
    with pytest.raises(Conflict):
        worklog.review(pair.match_id, activity.id, pair.sme, {"decision": "dispute"})
    with pytest.raises(NotFound):
        worklog.review(pair.match_id, activity.id, pair.student, {"decision": "confirm"})


def test_weekly_hours_warn_before_and_refuse_past_the_limit(pair: Any) -> None:
    _activate(pair)
    student = pair.match.student
    student.topik_level = 2  # a D-2 undergraduate below TOPIK 3-4: 10 hours a week by law
    db.session.commit()
    limit = worklog.weekly_limit(student)
    assert limit == 10 and student.hours_per_week == 12  # the law, not the stated hours
    monday = date.today() - timedelta(days=date.today().weekday())
    worklog.log(pair.match_id, pair.student, {"kind": "other", "date": monday, "hours": 7})
    assert _warnings() == 0
    worklog.log(pair.match_id, pair.student, {"kind": "other", "date": monday, "hours": 1})
    assert _warnings() == 1  # 8 of 10 hours: the SME told (the student, on the page)
    with pytest.raises(InvalidInput) as caught:
        worklog.log(pair.match_id, pair.student, {"kind": "other", "date": monday, "hours": 2.5})
    assert caught.value.fields["hours"][0]["type"] == "weekly_limit"
    worklog.log(pair.match_id, pair.student, {"kind": "other", "date": monday, "hours": 2})
    assert _warnings() == 1  # one warning a week


@pytest.mark.parametrize(
    ("visa", "topik", "degree", "expected"),
    [
        ("d2", 4, None, 30),  # undergraduate with the Korean requirement
        ("d2", 2, None, 10),  # ... without it
        ("d2", 4, "master", 35),
        ("d2", 3, "master", 15),
        ("d4", 2, None, 10),
        ("e7", 0, None, 12),  # no hour limit in the rules: the stated hours (12)
        ("other", 0, None, 12),  # no rule at all: the stated hours
    ],
)
def test_the_weekly_limit_is_the_visa_rules_limit(
    student: Any, visa: str, topik: int, degree: str | None, expected: int
) -> None:
    profile = student.student
    profile.visa, profile.topik_level, profile.degree_level = visa, topik, degree
    profile.in_korea_since = date(2020, 1, 1)
    db.session.commit()
    assert profile.hours_per_week == 12
    assert worklog.weekly_limit(profile) == expected


def _warnings() -> int:
    db.session.flush()
    return db.session.scalar(select(func.count()).where(OutboxMessage.kind == "hours_warning")) or 0


def test_a_date_in_the_future_is_refused(pair: Any) -> None:
    _activate(pair)
    tomorrow = date.today() + timedelta(days=2)
    with pytest.raises(InvalidInput) as caught:
        worklog.log(pair.match_id, pair.student, {"kind": "other", "date": tomorrow, "hours": 1})
    assert "date" in caught.value.fields


# --- 5. check-ins --------------------------------------------------------------------------------


def test_one_checkin_a_month_per_side(pair: Any) -> None:
    _activate(pair)
    answer = {"satisfaction": 4, "hours": 20, "blockers": ""}
    checkins.submit(pair.match_id, pair.student, answer)
    checkins.submit(pair.match_id, pair.sme, answer)
    with pytest.raises(Conflict):
        checkins.submit(pair.match_id, pair.student, answer)
    with pytest.raises(InvalidInput):
        checkins.submit(pair.match_id, pair.sme, {"satisfaction": 6, "hours": 1})
    with pytest.raises(NotFound):
        checkins.submit(pair.match_id, pair.outsider_student, answer)


def test_two_missed_checkins_or_low_satisfaction_need_attention(pair: Any, app: Any) -> None:
    _activate(pair)
    match = pair.match
    match.activated_at = datetime(2026, 1, 10, tzinfo=UTC)
    db.session.commit()
    in_march = datetime(2026, 3, 5, tzinfo=UTC)
    db.session.add(
        CheckIn(match_id=match.id, side="sme", period="2026-01", satisfaction=5, hours=1)
    )
    db.session.add(
        CheckIn(match_id=match.id, side="sme", period="2026-02", satisfaction=4, hours=1)
    )
    db.session.add(
        CheckIn(match_id=match.id, side="student", period="2026-01", satisfaction=4, hours=1)
    )
    db.session.commit()
    assert checkins.needs_attention(in_march) == []  # the student missed one month only
    flagged = checkins.needs_attention(datetime(2026, 4, 5, tzinfo=UTC))
    assert [f.match.id for f in flagged] == [match.id]
    assert flagged[0].missed == {"student": ["2026-02", "2026-03"], "sme": ["2026-03"]}
    with app.test_request_context():
        assert "2026-02, 2026-03" in flagged[0].reasons[0]
    db.session.add(
        CheckIn(match_id=match.id, side="student", period="2026-02", satisfaction=2, hours=1)
    )
    db.session.commit()
    low = checkins.needs_attention(in_march)
    assert [f.low[0].satisfaction for f in low] == [2]


def test_missed_checkins_are_reminded_once(pair: Any) -> None:
    _activate(pair)
    pair.match.activated_at = datetime(2026, 1, 10, tzinfo=UTC)
    db.session.commit()
    in_feb = datetime(2026, 2, 3, tzinfo=UTC)
    assert checkins.send_reminders(in_feb) == 2
    assert checkins.send_reminders(in_feb) == 0


# --- 6. outcomes ---------------------------------------------------------------------------------


def test_completion_records_the_export_status_and_the_student_outcome(pair: Any) -> None:
    _activate(pair)
    with pytest.raises(NotFound):
        outcomes.complete(pair.match_id, pair.student, {"status": "none"})
    with pytest.raises(InvalidInput) as caught:
        outcomes.complete(pair.match_id, pair.sme, {"status": "first_export"})
    assert "first_export_on" in caught.value.fields
    outcomes.complete(
        pair.match_id,
        pair.sme,
        {
            "status": "first_export",
            "first_export_on": "2026-10-01",
            "markets": ["VN"],
            "contracts": 1,
        },
    )
    db.session.commit()
    assert pair.match.status == MatchStatus.COMPLETED and pair.match.completed_at
    assert stats.kpis()["smes_first_export"] == 1
    with pytest.raises(Conflict):
        outcomes.complete(pair.match_id, pair.sme, {"status": "none"})
    outcomes.record_student_outcome(pair.match_id, pair.student, {"outcome": "e7_visa"})
    db.session.commit()
    assert stats.kpis()["e7_conversions"] == 1
    outcomes.set_export_status(
        pair.sme, {"status": "usd_1m", "first_export_on": "2026-10-01", "markets": ["VN", "TH"]}
    )
    db.session.commit()
    kpis = stats.kpis()
    assert kpis["smes_usd_1m"] == 1 and kpis["students_placed"] == 1
    assert kpis["targets"]["smes_first_export"] == 1000


def test_the_funnel_counts_each_stage(pair: Any) -> None:
    before = stats.funnel_by_cycle()
    assert [(r.proposed, r.approved, r.active, r.completed, r.first_export) for r in before] == [
        (1, 1, 0, 0, 0)
    ]
    _activate(pair)
    outcomes.complete(
        pair.match_id, pair.sme, {"status": "first_export", "first_export_on": "2026-10-01"}
    )
    db.session.commit()
    after = stats.funnel_by_cohort()
    assert [(r.proposed, r.approved, r.active, r.completed, r.first_export) for r in after] == [
        (1, 1, 1, 1, 1)
    ]
    assert stats.targets_csv().decode("utf-8-sig").startswith("kpi,value,target")


# --- account deletion ----------------------------------------------------------------------------


def test_deleting_an_account_deletes_the_collaboration_and_its_files(pair: Any, app: Any) -> None:
    from pathlib import Path

    from app.services import uploads

    _activate(pair)
    threads.post(pair.match_id, pair.sme, {"body": "brochure"}, io.BytesIO(PDF))
    worklog.log(
        pair.match_id,
        pair.student,
        {"kind": "other", "date": date.today(), "hours": 1},
        io.BytesIO(PDF),
    )
    db.session.commit()  # publishes both parts
    assert len(list(Path(app.config["UPLOAD_DIR"]).glob("*.pdf"))) == 2
    # The nightly sweep keeps attachments: a row references them.
    assert uploads.sweep(grace=timedelta(0))["deleted"] == 0

    accounts.delete_account(pair.student)
    db.session.commit()  # and the files go with it
    assert db.session.get(Match, pair.match_id) is None
    assert db.session.scalar(select(func.count(Message.id))) == 0
    assert db.session.scalar(select(func.count(Activity.id))) == 0
    assert not any(Path(app.config["UPLOAD_DIR"]).iterdir())


# --- the scheduler's job and the mail ------------------------------------------------------------


def test_the_reminders_job_is_scheduled_and_sends_nothing_twice(pair: Any, app: Any) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from app import jobs

    db.session.commit()  # the jobs run in a context (and SQLite transaction) of their own
    scheduler = BackgroundScheduler(job_defaults=jobs.JOB_DEFAULTS)
    jobs.configure_scheduler(scheduler, app)
    assert scheduler.get_job("reminders") is not None
    soon = (datetime.now(UTC) + timedelta(hours=10)).isoformat()
    kickoff.offer(pair.match_id, pair.sme, {"slots": [{"starts_at": soon, "place": "Zoom"}]})
    kickoff.confirm(pair.match_id, pair.student, {"slot": 0})
    db.session.commit()
    jobs.send_reminders(app)
    jobs.send_reminders(app)
    db.session.commit()
    reminders = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "kickoff_reminder")
    ).all()
    assert len(reminders) == 2


def test_the_invitation_travels_as_an_ics_attachment(pair: Any) -> None:
    from app.services import mail

    _activate(pair)
    message = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "kickoff_confirmed")
    ).first()
    email = message_from_string(mail._as_email(message).as_string())
    parts = {part.get_content_type(): part for part in email.walk()}
    assert "text/calendar" in parts
    assert parts["text/calendar"].get_filename() == "kickoff.ics"
    assert b"BEGIN:VCALENDAR" in parts["text/calendar"].get_payload(decode=True)
