"""The cycles page: run one now (and the busy case), the schedule, the history; the settings
page with its preview of the next cycle."""

from __future__ import annotations

from sqlalchemy import func, select

from app import jobs
from app.extensions import db
from app.models import AuditEvent, Match, MatchCycle, MatchSettings


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_run_a_cycle_now(coord_client, student, sme, coordinator, app):
    html = coord_client.get("/coordinator/cycles").get_data(as_text=True)
    assert "No cycle has run yet." in html and "Next run:" in html
    r = coord_client.post("/coordinator/cycles/run", follow_redirects=True)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "is queued" in html and "queued</span>" in html
    assert 'http-equiv="refresh"' in html  # the page follows the cycle
    cycle = db.session.scalar(select(MatchCycle))
    assert cycle.trigger == "manual" and cycle.started_by_id == coordinator.id
    assert _count(Match) == 0  # nothing ran inside the request
    db.session.commit()  # the test's reads end, as a request's would
    jobs.CycleRunner(app).poll()
    html = coord_client.get("/coordinator/cycles").get_data(as_text=True)
    assert _count(Match) == 1
    assert "finished" in html and "by hand" in html and 'http-equiv="refresh"' not in html


def test_run_while_another_cycle_is_queued(coord_client, student, sme):
    coord_client.post("/coordinator/cycles/run")
    r = coord_client.post("/coordinator/cycles/run", follow_redirects=True)
    assert r.status_code == 200
    assert "A cycle is already queued or running." in r.get_data(as_text=True)
    assert _count(MatchCycle) == 1


def test_schedule_bad_cron_is_refused_with_a_message(coord_client):
    r = coord_client.post("/coordinator/cycles/schedule", data={"schedule": "every monday"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "This is not a cron expression." in html and 'value="every monday"' in html
    settings = db.session.get(MatchSettings, 1)
    assert settings is None or settings.schedule is None
    r = coord_client.post("/coordinator/cycles/schedule", data={"schedule": "0 99 * * *"})
    assert r.status_code == 422


def test_schedule_good_cron_is_stored_and_next_run_shown(coord_client, app):
    r = coord_client.post("/coordinator/cycles/schedule", data={"schedule": "30 9 * * fri"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(MatchSettings, 1).schedule == "30 9 * * fri"
    assert _count(AuditEvent, AuditEvent.action == "schedule_changed") == 1
    html = coord_client.get("/coordinator/cycles").get_data(as_text=True)
    assert "Friday" in html and "9:30:00" in html  # the next run, in Korea's time
    r = coord_client.post("/coordinator/cycles/schedule", data={"schedule": ""})
    db.session.expire_all()
    assert db.session.get(MatchSettings, 1).schedule is None  # back to MATCH_SCHEDULE


def _settings_form(**overrides):
    data = {
        "mode": "stable",
        "candidates_k": "50",
        "expiry_days": "14",
        "weight_language": "0.3",
        "weight_market": "0.3",
        "weight_industry": "0.25",
        "weight_region": "0.07",
        "weight_korean": "0.05",
        "weight_text": "0.03",
    }
    data.update(overrides)
    return data


def test_settings_page_shows_the_saved_values(coord_client):
    html = coord_client.get("/coordinator/settings").get_data(as_text=True)
    assert 'name="weight_language"' in html and 'value="0.3"' in html
    assert "Preview the next cycle" in html


def test_settings_preview_writes_nothing_and_shows_differences(
    coord_client, make_student, make_sme, bn
):
    # Two students, one place: the language weight decides who gets it.
    make_student(
        email="vi@example.org", name="Viet Speaker", markets=["TH"], industries=["processed_food"]
    )
    make_student(
        email="th@example.org",
        name="Thai Speaker",
        nationality="TH",
        languages=[{"code": "th", "level": "native"}],
        markets=["VN"],
        industries=["cosmetics"],
    )
    make_sme(
        email="one@sme.example",
        company_name="한자리",
        business_number=bn(11),
        capacity=1,
        markets=["VN"],
        languages_needed=["th"],
    )
    before = (_count(MatchSettings), _count(AuditEvent), _count(Match), _count(MatchCycle))
    form = _settings_form(
        weight_language="0", weight_market="1", weight_industry="0", mode="optimal"
    )
    r = coord_client.post("/coordinator/settings", data={**form, "action": "preview"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html
    assert "What would change in the next cycle" in html and "Nothing was saved." in html
    assert "Proposals" in html and "Blocking pairs" in html and "Total score" in html
    db.session.rollback()
    assert (_count(MatchSettings), _count(AuditEvent), _count(Match), _count(MatchCycle)) == before


def test_settings_preview_counts_changed_pairs(coord_client, make_student, make_sme, bn):
    make_student(
        email="x1@example.org",
        name="Lang Person",
        languages=[{"code": "vi", "level": "native"}],
        markets=["US"],
    )
    make_student(
        email="x2@example.org",
        name="Market Person",
        nationality="US",
        # Needed languages add to the market's (engine, issue 9): the SME needs en and vi,
        # so a little Vietnamese is what makes this student the better speaker.
        languages=[{"code": "en", "level": "native"}, {"code": "vi", "level": "basic"}],
        markets=["VN"],
    )
    make_sme(
        email="one@sme.example",
        company_name="단한곳",
        business_number=bn(12),
        capacity=1,
        markets=["VN"],
        languages_needed=["en"],
    )
    saved = coord_client.post(
        "/coordinator/settings",
        data={
            **_settings_form(
                weight_language="1",
                weight_market="0",
                weight_industry="0",
                weight_region="0",
                weight_korean="0",
                weight_text="0",
            ),
            "action": "save",
        },
    )
    assert saved.status_code == 302
    r = coord_client.post(
        "/coordinator/settings",
        data={
            **_settings_form(
                weight_language="0",
                weight_market="1",
                weight_industry="0",
                weight_region="0",
                weight_korean="0",
                weight_text="0",
            ),
            "action": "preview",
        },
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "students would get a different proposal" in html or "student would get" in html
    assert "A sample of the pairs that change" in html


def test_settings_bad_values_are_refused(coord_client):
    r = coord_client.post(
        "/coordinator/settings",
        data={
            **_settings_form(weight_language="-1", candidates_k="4", expiry_days="abc"),
            "action": "save",
        },
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "Enter a number of at least 0." in html
    assert "Enter a number of at least 5." in html
    assert "Enter a whole number." in html
    r = coord_client.post(
        "/coordinator/settings",
        data={
            **_settings_form(weight_language="0", weight_market="0", weight_industry="0"),
            "action": "preview",
        },
    )
    assert r.status_code == 422
    assert "Give at least one of language, target market or industry" in r.get_data(as_text=True)
    r = coord_client.post(
        "/coordinator/settings", data={**_settings_form(weight_text="nan"), "action": "save"}
    )
    assert r.status_code == 422
    assert _count(AuditEvent, AuditEvent.action == "settings_changed") == 0


def test_settings_save_is_audited(coord_client):
    r = coord_client.post(
        "/coordinator/settings",
        data={
            **_settings_form(mode="optimal", candidates_k="80", weight_text="0"),
            "action": "save",
        },
    )
    assert r.status_code == 302
    db.session.expire_all()
    settings = db.session.get(MatchSettings, 1)
    assert settings.mode == "optimal" and settings.candidates_k == 80
    assert settings.weights["text"] == 0
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "settings_changed"))
    assert event.detail["before"]["mode"] == "stable" and event.detail["after"]["mode"] == "optimal"
