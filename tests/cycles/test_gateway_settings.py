"""The engine gateway and the settings module: one way in, one set of defaults."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Match, MatchSettings
from app.services import cycles, decisions, engine_gateway, match_settings, tuning
from matching import DEFAULT_WEIGHTS
from tests.layering import reachable


def test_defaults_come_from_the_settings_module_alone(app):
    assert db.session.get(MatchSettings, 1) is None
    values = match_settings.current()
    assert values == {
        "mode": match_settings.DEFAULT_MODE,
        "weights": dict(DEFAULT_WEIGHTS),
        "candidates_k": match_settings.DEFAULT_CANDIDATES_K,
        "expiry_days": match_settings.DEFAULT_EXPIRY_DAYS,
        "schedule": None,
    }
    assert db.session.get(MatchSettings, 1) is None  # reading writes nothing
    row = match_settings.get()
    assert (row.mode, row.candidates_k, row.expiry_days, row.weights) == (
        match_settings.DEFAULT_MODE,
        match_settings.DEFAULT_CANDIDATES_K,
        match_settings.DEFAULT_EXPIRY_DAYS,
        None,
    )
    assert match_settings.engine_weights() is None
    assert match_settings.schedule() == app.config["MATCH_SCHEDULE"]


def test_a_cycle_runs_with_the_saved_settings(app, coordinator, student, sme):
    match_settings.save(
        {
            "mode": "optimal",
            "weights": {"language": "2", "text": "0"},
            "candidates_k": "7",
            "expiry_days": "3",
        },
        coordinator,
    )
    db.session.commit()
    cycle = cycles.run_cycle()
    assert (cycle.mode, cycle.candidates_k) == ("optimal", 7)
    assert cycle.weights == {**DEFAULT_WEIGHTS, "language": 2.0, "text": 0.0}


def test_settings_modules_do_not_pull_in_the_cycle_machinery():
    # get_settings used to live in cycles, so reading a setting imported cycles (and, through
    # it, notifications, which imported cycles back from inside a function).
    pulled = reachable(
        "app.services.match_settings",
        "app.services.notifications",
        "app.services.engine_gateway",
        "app.services.decisions",
        "app.services.tuning",
    )
    assert "app.services.cycles" not in pulled


def test_preview_cycle_and_pair_preview_see_the_same_pairs(app, make_student, make_sme):
    for n, country in enumerate(["VN", "TH", "ID", "CN"]):
        make_student(email=f"s{n}@example.org", nationality=country, markets=[country])
    make_sme(capacity=2, markets=["VN", "CN"])
    make_sme(email="b@example.org", business_number="124-81-00998", markets=["TH", "ID"])
    preview = tuning.preview({k: v for k, v in match_settings.current().items() if k != "schedule"})
    cycles.run_cycle()
    proposed = db.session.scalars(select(Match).order_by(Match.student_id)).all()
    assert {m.student_id: m.sme_id for m in proposed} == preview.saved.pairs
    for match in proposed:
        one = engine_gateway.score_pair(match.student_id, match.sme_id, None)
        assert one == engine_gateway.PairScore(
            *decisions.preview_pair(match.student_id, match.sme_id)
        )
        assert [r["key"] for r in one.reasons if r["factor"] != "text"] == [
            r["key"] for r in match.reasons if r["factor"] not in ("text", "priority")
        ]


def test_load_pool_leaves_out_busy_students_and_full_smes(app, make_student, make_sme):
    first = make_student()
    second = make_student(email="second@example.org", name="Tran Minh")
    only = make_sme(capacity=1)
    cycles.run_cycle()
    pool = engine_gateway.load_pool(match_settings.DEFAULT_EXPIRY_DAYS)
    placed = db.session.scalar(select(Match.student_id))
    waiting = ({first.student.id, second.student.id} - {placed}).pop()
    assert pool.student_ids == [waiting] and pool.free_seats == {}
    assert only.sme.id not in pool.free_seats
