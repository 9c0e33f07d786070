"""Issue 10: labelled examples, training, adoption, roll-back: services, API, CLI, page."""

from __future__ import annotations

from typing import Any

import pytest
from api_support import Api, token_for
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditEvent,
    Match,
    MatchCycle,
    MatchSettings,
    ModelReport,
    User,
    WeightAdoption,
)
from app.services import cycles, decisions, learned_weights, match_settings
from matching import DEFAULT_WEIGHTS, FACTORS, SIDES, MatchModel
from matching.model import normalise_weights


def _view(weights: dict[str, float], values: dict[str, float]) -> float:
    total = sum(weights.values())
    return sum(weights[f] / total * values[f] for f in FACTORS)


def assert_built_from(weights: Any, values: dict[str, float], score: float, *, sme: bool) -> None:
    """`score` is the stored criterion values under the weights in force, plus availability.

    Since issue 9 the engine also scores availability (weekly hours against the SME's need): it is
    not learnt, so its value is not among the stored criteria, and its part lies between 0 and
    its weight. The SME's view keeps the priority share in reserve (no priority student here).
    """
    w = normalise_weights(weights)
    learnt = sum(w[f] * values[f] for f in FACTORS)
    reserve = 1.0 - MatchModel().priority_bonus if sme else 1.0
    low, high = reserve * learnt, reserve * (learnt + w["availability"])
    assert low - 1e-5 <= score <= high + 1e-5, (low, score, high)


# --- 1. labelled examples -------------------------------------------------------------------------


def test_every_proposal_keeps_its_criterion_values_from_both_views(student, sme, coordinator):
    cycles.run_cycle()
    match = db.session.scalar(select(Match))
    assert match is not None and set(match.criteria) == set(SIDES)
    for side in SIDES:
        assert set(match.criteria[side]) == set(FACTORS)
        assert all(0 <= v <= 1 for v in match.criteria[side].values())
    # The values are what the score was built from (no priority bonus in a first cycle).
    assert_built_from(None, match.criteria["sme_view"], match.sme_view, sme=True)
    assert_built_from(None, match.criteria["student_view"], match.student_view, sme=False)


def test_a_pair_made_by_hand_keeps_its_criterion_values(student, sme, coordinator):
    match = decisions.pair(student.student.id, sme.sme.id, coordinator)
    db.session.commit()
    assert_built_from(None, match.criteria["student_view"], match.student_view, sme=False)


def test_answers_become_labels_per_side_and_unrelated_declines_are_left_out(
    make_student, sme, coordinator
):
    for n in range(3):
        make_student(email=f"s{n}@example.org")
    cycles.run_cycle()
    first, second = db.session.scalars(select(Match).order_by(Match.id)).all()[:2]
    decisions.decide(first.id, sme, "decline", "capacity")  # not evidence about the pair
    decisions.decide(second.id, second.student.user, "accept")
    decisions.decide(second.id, sme, "decline", "market", "we sell to Japan only")
    db.session.commit()
    data = learned_weights.examples()
    assert data.counts() == {"sme_view": 1, "student_view": 1}
    assert data.ignored == {"sme_view": 1, "student_view": 0}
    assert list(data.answers["sme_view"].y) == [0]  # the market decline is a negative
    assert list(data.answers["student_view"].y) == [1]
    assert list(data.answers["sme_view"].group) == [second.cycle_id]


# --- 2-4. training, the API, adoption -------------------------------------------------------------


def test_below_the_minimum_training_is_refused_with_how_many_more(app, coordinator, student, sme):
    api = Api(app.test_client(), token_for(coordinator))
    state = api.get("/model").json
    assert state["needed"] == state["min_decisions"] == 100
    assert state["source"] == "settings" and state["latest_report"] is None
    assert state["weights"]["sme_view"]["language"] == pytest.approx(
        normalise_weights(None)["language"]
    )
    refused = api.post("/model/train")
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "conflict"
    assert "100 more" in refused.json["error"]["message"]
    assert db.session.scalar(select(func.count(ModelReport.id))) == 0
    for user in (student, sme):
        assert Api(app.test_client(), token_for(user)).post("/model/train").status_code == 403


def test_train_adopt_and_the_next_cycle_uses_the_two_sided_weights(
    app, answered, coordinator, monkeypatch
):
    monkeypatch.setitem(app.config, "MODEL_MIN_DECISIONS", 40)
    api = Api(app.test_client(), token_for(coordinator))
    trained = api.post("/model/train")
    assert trained.status_code == 201, trained.json
    body = trained.json
    assert {"id", "weights", "auc", "n_answers"} <= set(body)
    assert body["n_answers"] == sum(learned_weights.examples().counts().values())
    for side in SIDES:
        assert abs(sum(body["weights"][side].values()) - 1) < 1e-4
        assert set(body["auc"][side]) == {"current", "learned"}
    # What the demo's people value shows through: SMEs weigh Korean and the market up,
    # students the region.
    sme_w, stu_w = body["weights"]["sme_view"], body["weights"]["student_view"]
    if body["better"]:
        assert sme_w["korean"] > DEFAULT_WEIGHTS["korean"] or stu_w["region"] > 0.07
    # Nothing adopted yet.
    assert match_settings.get_row() is None or match_settings.get_row().side_weights is None
    assert api.get("/model").json["latest_report"]["id"] == body["id"]

    assert api.post("/model/adopt", {"report_id": body["id"] + 99}).status_code == 404
    assert api.post("/model/adopt", {"report": 1}).status_code == 422
    adopted = api.post("/model/adopt", {"report_id": body["id"]})
    assert adopted.status_code == 200, adopted.json
    assert adopted.json["weights"] == body["weights"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "weights_adopted"))
    assert event is not None and event.actor_id == coordinator.id
    assert event.detail["after"] == body["weights"]
    assert api.get("/model").json["source"] == "adopted"

    cycle = cycles.run_cycle()
    assert cycle.status == "finished" and cycle.weights == body["weights"]
    fresh = db.session.scalars(select(Match).where(Match.cycle_id == cycle.id)).all()
    assert fresh
    for m in fresh:  # explanations and view scores are those of the adopted weights
        assert_built_from(
            body["weights"]["student_view"], m.criteria["student_view"], m.student_view, sme=False
        )
        assert sum(r["weight"] for r in m.reasons) == pytest.approx(m.score, abs=1e-4)
    assert api.get(f"/cycles/{cycle.id}").json["weights"] == body["weights"]


def test_roll_back_to_an_earlier_set_and_hand_weights_replace_learned_ones(
    app, answered, coordinator, monkeypatch
):
    monkeypatch.setitem(app.config, "MODEL_MIN_DECISIONS", 40)
    report = learned_weights.train(coordinator)
    first = learned_weights.adopt(report.id, coordinator)
    settings_weights = {s: dict(DEFAULT_WEIGHTS) for s in SIDES}
    learned_weights.back_to_settings(coordinator)
    db.session.commit()
    assert match_settings.engine_weights() is None
    learned_weights.roll_back(first.id, coordinator)
    db.session.commit()
    assert match_settings.engine_weights() == report.weights
    kinds = [a.kind for a in learned_weights.adoptions()]
    assert kinds == ["rollback", "defaults", "report"]
    assert learned_weights.adoptions()[1].weights == settings_weights
    # A coordinator saving other weights by hand takes learned ones out of force (audited).
    match_settings.save(
        {
            "mode": "stable",
            "weights": {"language": 1, "market": 1, "industry": 1},
            "candidates_k": 50,
            "expiry_days": 14,
        },
        coordinator,
    )
    db.session.commit()
    assert db.session.get(MatchSettings, 1).side_weights is None
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "settings_changed")
    ).all()[-1]
    assert event.detail["after"]["learned_weights_dropped"] == report.weights


def test_cli_model_train_prints_the_report(app, answered, runner, monkeypatch):
    monkeypatch.setitem(app.config, "MODEL_MIN_DECISIONS", 40)
    result = runner.invoke(args=["model", "train"])
    assert result.exit_code == 0, result.output
    assert "held-out ROC AUC current" in result.output and "Nothing was adopted" in result.output
    assert db.session.scalar(select(func.count(ModelReport.id))) == 1
    assert db.session.scalar(select(func.count(WeightAdoption.id))) == 0
    monkeypatch.setitem(app.config, "MODEL_MIN_DECISIONS", 10_000)
    refused = runner.invoke(args=["model", "train"])
    assert refused.exit_code == 2 and "more needed" in refused.output


# --- 3. the page ----------------------------------------------------------------------------------


def test_page_below_the_minimum_says_how_many_more_and_suggests_nothing(coord_client):
    html = coord_client.get("/coordinator/learned-weights").get_data(as_text=True)
    assert "100 more answers are needed" in html
    assert "Adopt from the next cycle" not in html and "Learn from the answers now" not in html
    ko = coord_client.get(
        "/coordinator/learned-weights", headers={"Accept-Language": "ko"}
    ).get_data(as_text=True)
    assert "학습된 가중치" in ko


def test_page_shows_the_suggestion_and_adopts_it_only_when_asked(
    app, answered, coord_client, coordinator, monkeypatch
):
    monkeypatch.setitem(app.config, "MODEL_MIN_DECISIONS", 40)
    assert coord_client.post("/coordinator/learned-weights/train").status_code == 302
    report = db.session.scalar(select(ModelReport))
    assert report is not None
    html = coord_client.get("/coordinator/learned-weights").get_data(as_text=True)
    for text in ("What SMEs value", "What students value", "ROC AUC", "Brier", "held-out"):
        assert text in html
    if report.better:
        assert "What would change in the next cycle" in html and "Mean score" in html
    assert match_settings.engine_weights() is None  # nothing adopted by training
    coord_client.post("/coordinator/learned-weights/keep", data={"report_id": report.id})
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "weights_kept"))
    assert match_settings.engine_weights() is None
    coord_client.post("/coordinator/learned-weights/adopt", data={"report_id": report.id})
    assert match_settings.engine_weights() == report.weights
    html = coord_client.get("/coordinator/learned-weights").get_data(as_text=True)
    assert "This suggestion has been adopted." in html
    gone = coord_client.post("/coordinator/learned-weights/adopt", data={"report_id": 999999})
    assert gone.status_code == 302  # a clear message, not a 500
    assert db.session.scalar(select(func.count(WeightAdoption.id))) == 1


# --- 5. demo data that teaches something ----------------------------------------------------------


def test_demo_answers_are_real_answers_to_real_cycles(app, answered: dict[str, Any]):
    assert answered["sme_view"] > 40 and answered["student_view"] > 40
    assert db.session.scalar(select(func.count(MatchCycle.id))) == 4
    counts = learned_weights.examples().counts()
    assert counts["sme_view"] > 30 and counts["student_view"] > 30
    assert db.session.scalar(select(func.count(User.id))) > 90


def test_good_outcomes_count_a_pairs_accepts_twice(make_student, sme, coordinator):
    from app.models import MatchOutcome, MatchStatus

    for n in range(2):
        make_student(email=f"o{n}@example.org")
    cycles.run_cycle()
    first, second = db.session.scalars(select(Match).order_by(Match.id)).all()[:2]
    for match in (first, second):
        decisions.decide(match.id, match.student.user, "accept")
        decisions.decide(match.id, sme, "accept")
    # i11's completion writes the match's outcome and the student's own record.
    first.status, first.outcome = MatchStatus.COMPLETED, "contract_signed"
    second.status, second.outcome = MatchStatus.COMPLETED, "none"
    db.session.add(
        MatchOutcome(match_id=second.id, markets=[], contracts=0, student_outcome="e7_visa")
    )
    db.session.commit()
    data = learned_weights.examples()
    assert list(data.answers["sme_view"].sample_weight) == [2.0, 1.0]
    assert list(data.answers["student_view"].sample_weight) == [2.0, 2.0]
