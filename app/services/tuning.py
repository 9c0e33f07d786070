"""What a change of the matching settings would do, before it is saved.

`preview` runs the engine on today's pool twice, with the saved settings and with proposed ones,
and says what would change in the next cycle. It only reads: nothing is added, nothing flushed.
The settings themselves (defaults, rules, storage, schedule) live in `app.services.match_settings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import SME, Student
from app.services import engine_gateway, learned_weights, match_settings


@dataclass
class Outcome:
    proposals: int
    placed_share: float
    total_score: float
    blocking_pairs: int
    pairs: dict[int, int]  # student_id -> sme_id


@dataclass
class Change:
    student_id: int
    student_name: str
    before: tuple[int, str] | None  # (sme_id, company) or None: not proposed
    after: tuple[int, str] | None


@dataclass
class Preview:
    pool_students: int
    pool_smes: int
    saved: Outcome
    proposed: Outcome
    n_changed: int
    changes: list[Change] = field(default_factory=list)


def _run(settings: dict[str, Any]) -> tuple[Outcome, int, int]:
    pool = engine_gateway.load_pool(settings["expiry_days"])
    result = engine_gateway.run(
        engine_gateway.load_inputs(pool),
        mode=settings["mode"],
        weights=settings["weights"],
        k=settings["candidates_k"],
        explain=False,
    )
    outcome = Outcome(
        proposals=len(result.pairs),
        placed_share=result.placed_share,
        total_score=result.total_score,
        blocking_pairs=result.blocking_pairs,
        pairs={p.student_id: p.sme_id for p in result.pairs},
    )
    return outcome, len(pool.student_ids), len(pool.free_seats)


def _in_force() -> dict[str, Any]:
    """The saved settings with the weights the engine really runs with (learned ones if adopted)."""
    settings = match_settings.current()
    settings["weights"] = match_settings.engine_weights() or settings["weights"]
    return settings


def preview(data: dict[str, Any], sample: int = 15) -> Preview:
    """What the next cycle would propose with the saved settings and with these. Reads only."""
    return compare(match_settings.parse(data).model_dump(), sample)


def preview_weights(weights: dict[str, Any], sample: int = 15) -> Preview:
    """What the next cycle would propose with other (e.g. learned two-sided) weights. Reads only."""
    return compare({**_in_force(), "weights": weights}, sample)


def compare(proposed_settings: dict[str, Any], sample: int = 15) -> Preview:
    """The next cycle with the settings in force and with `proposed_settings`, side by side."""
    saved, n_students, n_smes = _run(_in_force())
    proposed, _, _ = _run(proposed_settings)
    changed = sorted(
        sid
        for sid in set(saved.pairs) | set(proposed.pairs)
        if saved.pairs.get(sid) != proposed.pairs.get(sid)
    )
    shown = changed[:sample]
    sme_ids = {saved.pairs.get(s) for s in shown} | {proposed.pairs.get(s) for s in shown}
    students = dict(
        db.session.execute(select(Student.id, Student.name).where(Student.id.in_(shown))).all()
    )
    companies = dict(
        db.session.execute(
            select(SME.id, SME.company_name).where(SME.id.in_([i for i in sme_ids if i]))
        ).all()
    )

    def side(sme_id: int | None) -> tuple[int, str] | None:
        return (sme_id, companies.get(sme_id, "")) if sme_id else None

    return Preview(
        pool_students=n_students,
        pool_smes=n_smes,
        saved=saved,
        proposed=proposed,
        n_changed=len(changed),
        changes=[
            Change(
                sid,
                students.get(sid, ""),
                side(saved.pairs.get(sid)),
                side(proposed.pairs.get(sid)),
            )
            for sid in shown
        ],
    )


__all__ = ["Change", "Outcome", "Preview", "compare", "preview", "preview_weights"]


def learned_weights_review() -> dict[str, Any]:
    """The learned weights' page: their state, the newest report, the ids of the reports
    adopted, and what the newest suggestion would change (only when it is better, not yet
    adopted, and there are enough answers: otherwise there is nothing to decide)."""
    state = learned_weights.status()
    report = state.latest
    adopted_ids = {a.report_id for a in state.history if a.report_id}
    suggested = (
        report is not None and report.better and report.id not in adopted_ids and not state.needed
    )
    return {
        "state": state,
        "report": report,
        "adopted_ids": adopted_ids,
        "preview": preview_weights(report.weights) if suggested and report else None,
    }
