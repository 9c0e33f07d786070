"""No raw codes (issue 13, item 2): the audit trail, decline reasons and the schedule in words,
in the reader's language and in Korea time, with names instead of ids."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask_babel import force_locale
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event

from app.extensions import db
from app.models import AuditEvent
from app.services import audit, audit_words, decisions, match_settings
from app.services.errors import InvalidInput

APP = Path(__file__).resolve().parents[2] / "app"
# Actions built from a variable, with every value the variable takes.
COMPUTED = {
    "match_{decision}": ("match_accept", "match_decline"),
    "activity_{status}": ("activity_confirmed", "activity_disputed"),
}


def _recorded() -> tuple[set[str], set[str]]:
    """Every action and every literal detail key the application code records."""
    actions: set[str] = set()
    keys: set[str] = set()
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name != "record":
                continue
            first = node.args[0]
            for part in ast.walk(first):
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    actions.add(part.value)
            if isinstance(first, ast.JoinedStr):
                template = "".join(
                    v.value if isinstance(v, ast.Constant) else "{" + ast.unparse(v.value) + "}"
                    for v in first.values
                )
                actions.discard(template.split("{")[0])
                actions.update(COMPUTED[template])
            for keyword in node.keywords:
                if keyword.arg == "detail":
                    for part in ast.walk(keyword.value):
                        if isinstance(part, ast.Dict):
                            keys.update(k.value for k in part.keys if isinstance(k, ast.Constant))
    return actions, keys


def test_every_recorded_action_and_detail_is_worded():
    actions, keys = _recorded()
    assert len(actions) > 50
    assert actions - audit_words.worded_actions() == set()
    # The list filters' fields go in through `**asdict(filters)`.
    keys |= {"q", "status", "cycle", "language", "market", "industry", "region", "nationality"}
    keys |= {"score_min", "email_hash"}
    assert keys - audit_words.worded_detail_keys() == set()


@pytest.fixture
def trail(app, coordinator, programme) -> list[AuditEvent]:
    """What the issue saw in the Korean log, at a known time."""
    match = programme["matches"][0]
    at = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)  # 2026-03-03 00:30 in Seoul
    events = [
        audit.record("csv_exported", actor=coordinator, detail={"kind": "students", "rows": 3}),
        audit.record("match_viewed", actor=coordinator, target=match),
        audit.record(
            "students_listed",
            actor=coordinator,
            detail={"page": 1, "language": "", "market": "VN", "industry": "", "q": ""},
        ),
        audit.record(
            "pair_previewed",
            actor=coordinator,
            target=match.student,
            detail={"sme_id": match.sme_id},
        ),
    ]
    for e in events:
        e.at = at
    db.session.commit()
    return events


def test_the_korean_audit_log_has_no_raw_codes(coord_client, coordinator, trail, programme):
    coord_client.post("/language", data={"locale": "ko"})
    html = coord_client.get("/coordinator/audit").get_data(as_text=True)
    body = re.sub(r"<[^>]+>", " ", html[html.index("<tbody>") :])  # what a person reads
    for raw in ("csv_exported", "match_viewed", "students_listed", "page: 1", "language: ;"):
        assert raw not in body, raw
    assert "coordinator" not in body  # was "#91 coordinator"
    assert "CSV 내려받기" in body and "매칭 조회" in body
    assert "coord@example.org" in body  # a coordinator has no other name
    assert "베트남" in body  # the filter's market, named
    match = programme["matches"][0]
    assert f"{match.student.name}" in body and match.sme.company_name in body
    assert "2026. 3. 3." in body and "UTC" not in html  # Korea time
    # The action filter offers words too.
    assert '<option value="csv_exported" >CSV 내려받기</option>' in html.replace("  ", " ")


def test_the_audit_page_names_people_in_one_query_per_kind(
    coord_client, trail, coordinator, programme, make_student
):
    def statements() -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, *args):  # noqa: ANN001, ANN202
            seen.append(statement)

        engine = db.engines[None]
        event.listen(engine, "before_cursor_execute", count)
        try:
            coord_client.get("/coordinator/audit")
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    before = statements()
    for n, match in enumerate(programme["matches"]):
        audit.record("match_viewed", actor=match.student.user, target=match)
        audit.record("student_viewed", actor=coordinator, target=match.student)
        audit.record("pair_previewed", actor=coordinator, detail={"sme_id": match.sme_id, "n": n})
    db.session.commit()
    assert statements() == before


def test_audit_dates_are_korean_days(coord_client, trail):
    # 15:30 UTC on 2 March is 00:30 on 3 March in Seoul: the 3rd's page has it, the 2nd's not.
    third = coord_client.get("/coordinator/audit?date_from=2026-03-03&date_to=2026-03-03")
    assert third.get_data(as_text=True).count("<tr>") >= 4
    second = coord_client.get("/coordinator/audit?date_from=2026-03-02&date_to=2026-03-02")
    assert "Nothing recorded matches these filters." in second.get_data(as_text=True)


def test_decline_reasons_in_words(app):
    with app.test_request_context():
        assert audit_words.decline_text("not_a_fit: too far") == "Not a good fit: too far"
        assert audit_words.decline_text("schedule") == "Schedule or hours do not work"
        assert audit_words.decline_text("just a note") == "just a note"
        with force_locale("ko"):
            korean = audit_words.decline_text("not_a_fit: 너무 멀어요")
        assert "not_a_fit" not in korean and korean.endswith(": 너무 멀어요")


def test_the_match_page_words_a_decline(coord_client, programme):
    match = programme["matches"][0]
    decisions.decide(match.id, match.student.user, "decline", "location", "two hours by bus")
    db.session.commit()
    html = coord_client.get(f"/coordinator/matches/{match.id}").get_data(as_text=True)
    assert "Location is too far: two hours by bus" in html and "location:" not in html


# --- the schedule picker -------------------------------------------------------------------------


def test_the_picker_writes_cron():
    assert match_settings.cron_from_picker("mon", "06:00", "1") == "0 6 * * mon"
    assert match_settings.cron_from_picker("fri", "17:45", 2) == "45 17 * * fri */2"
    for args, field in (
        (("xyz", "06:00", 1), "schedule_day"),
        (("mon", "25:00", 1), "schedule_time"),
        (("mon", "06:00", "9"), "schedule_weeks"),
        (("mon", "06:00", "x"), "schedule_weeks"),
    ):
        with pytest.raises(InvalidInput) as caught:
            match_settings.cron_from_picker(*args)
        assert list(caught.value.fields) == [field]


@given(
    day=st.sampled_from(match_settings.WEEKDAYS),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    weeks=st.integers(1, match_settings.EVERY_WEEKS_MAX),
)
def test_the_picker_reads_back_what_it_wrote(day, hour, minute, weeks):
    expression = match_settings.cron_from_picker(day, f"{hour:02d}:{minute:02d}", weeks)
    assert match_settings.picked(expression) == match_settings.Picked(
        day, f"{hour:02d}:{minute:02d}", weeks
    )
    trigger = match_settings.cron_trigger(expression, "Asia/Seoul")
    first = trigger.get_next_fire_time(None, datetime(2027, 1, 4, tzinfo=UTC))
    second = trigger.get_next_fire_time(first, first)
    gap = (second - first).days if second else None
    assert first.strftime("%a").lower() == day and (first.hour, first.minute) == (hour, minute)
    assert gap in {7 * weeks, 7 * weeks + 7, 7}  # a 53-week year may shorten one gap


def test_an_expert_expression_is_not_forced_into_the_picker():
    assert match_settings.picked("*/30 * * * *") is None
    assert match_settings.picked("0 6 1 * *") is None


def test_the_cycles_page_picker_saves_and_says_it_in_words(coord_client):
    response = coord_client.post(
        "/coordinator/cycles/schedule",
        data={
            "action": "picker",
            "schedule_day": "wed",
            "schedule_time": "09:30",
            "schedule_weeks": "2",
            "schedule": "ignored when the picker is used",
        },
    )
    assert response.status_code == 302
    assert match_settings.current()["schedule"] == "30 9 * * wed */2"
    html = coord_client.get("/coordinator/cycles").get_data(as_text=True)
    assert "every 2 weeks on Wednesday at 09:30" in html
    assert 'value="30 9 * * wed */2"' in html  # the expression, for experts
    bad = coord_client.post(
        "/coordinator/cycles/schedule",
        data={
            "action": "picker",
            "schedule_day": "wed",
            "schedule_time": "9h",
            "schedule_weeks": "1",
        },
    )
    assert bad.status_code == 422 and "Enter a time as HH:MM" in bad.get_data(as_text=True)
    expert = coord_client.post(
        "/coordinator/cycles/schedule", data={"action": "expression", "schedule": "0 7 1 * *"}
    )
    assert expert.status_code == 302 and match_settings.current()["schedule"] == "0 7 1 * *"
    coord_client.post("/language", data={"locale": "ko"})
    html = coord_client.get("/coordinator/cycles").get_data(as_text=True)
    assert "0 7 1 * *" in html and "cron" in html


def test_a_schedule_change_reads_as_words_in_the_log(app, coordinator):
    with app.test_request_context():
        match_settings.set_schedule("", coordinator, picker=("mon", "06:00", "1"))
        match_settings.set_schedule("", coordinator, picker=("tue", "07:00", "2"))
        [line, *_rest] = audit_words.lines(
            db.session.scalars(
                db.select(AuditEvent)
                .where(AuditEvent.action == "schedule_changed")
                .order_by(AuditEvent.id.desc())
            )
        )
    assert line.details == ["every Monday at 06:00 → every 2 weeks on Tuesday at 07:00"]


def test_details_read_as_words(app):
    names = audit_words.Names()
    with app.test_request_context():
        paired = audit_words.detail_parts(
            "match_paired", {"override": True, "reason": "met at a fair"}, names
        )
        approved = audit_words.detail_parts(
            "match_approved", {"override": "agreed by phone"}, names
        )
        listed = audit_words.detail_parts(
            "students_listed", {"page": 2, "market": "VN", "region": "", "q": ""}, names
        )
    assert paired == ["paired despite the cycle's rules", "Reason: met at a fair"]
    assert approved == ["Override reason: agreed by phone"]
    assert listed == ["Page: 2", "Market: Vietnam"]
