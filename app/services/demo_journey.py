"""Demo matches at every stage of a pair's life, so a fresh `make run` shows the whole journey:
proposed, accepted by both, approved, kickoff offered, active (with a kickoff, messages, a work
log and check-ins), needing attention (missed check-ins; low satisfaction), completed with each
rung of the export ladder and each student outcome, declined and rejected.

Made through the same services as the pages wherever the clock allows; where a stage needs the
past (a kickoff that happened, months of missed check-ins), rows are dated back directly.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Activity,
    CheckIn,
    Kickoff,
    Match,
    Role,
    User,
    utcnow,
)
from app.services import (
    checkins,
    decisions,
    eligibility,
    kickoff,
    outcomes,
    threads,
    worklog,
    workspace,
)
from app.services.workspace import KST

STAGES = (
    "active",  # the printed demo logins: a student and an SME working together
    "proposed",
    "ready",
    "approved",
    "kickoff_offered",
    "missed_checkins",
    "low_satisfaction",
    "first_export",
    "usd_100k",
    "usd_1m",
    "declined",
    "rejected",
)


def seed(rng: random.Random, students: list[User], smes: list[User]) -> dict[str, int]:
    """One pair per stage, student i with SME i (as many stages as there are pairs)."""
    coordinator = db.session.scalar(select(User).where(User.role == Role.COORDINATOR))
    if coordinator is None:
        return {}
    people = [
        (s, e)
        for s, e in zip(students, smes, strict=False)
        if s.student
        and e.sme
        and not eligibility.why_not_student(s.student.id)
        and not eligibility.why_not_sme(e.sme.id)
    ]
    made: dict[str, int] = {}
    for stage, (student, sme) in zip(STAGES, people, strict=False):
        assert student.student is not None and sme.sme is not None  # chosen among profiles
        match = decisions.pair(
            student.student.id, sme.sme.id, coordinator, override=True, reason="demo data"
        )
        made[stage] = match.id
        if stage == "proposed":
            continue
        if stage == "declined":
            decisions.decide(match.id, student, "decline", reason="schedule")
            continue
        decisions.decide(match.id, student, "accept")
        decisions.decide(match.id, sme, "accept")
        if stage == "ready":
            continue
        if stage == "rejected":
            decisions.reject(match.id, coordinator, reason="demo data")
            continue
        decisions.approve(match.id, coordinator, override_reason="demo data")
        workspace.update_contact(student, {"phone": f"+82 10-{rng.randint(1000, 9999)}-0000"})
        workspace.update_contact(
            sme,
            {"phone": f"02-{rng.randint(100, 999)}-0000", "address": "서울특별시 중구 을지로 100"},
        )
        if stage == "approved":
            continue
        if stage == "kickoff_offered":
            soon = (utcnow() + timedelta(days=4)).astimezone(KST).replace(hour=14, minute=0)
            kickoff.offer(
                match.id,
                sme,
                {
                    "slots": [
                        {"starts_at": soon.isoformat(), "place": "https://meet.example.org/demo"},
                        {"starts_at": (soon + timedelta(days=1)).isoformat(), "place": "본사"},
                    ]
                },
            )
            continue
        _work(rng, match, student, sme, coordinator, stage)
    db.session.flush()
    return made


def _work(
    rng: random.Random, match: Match, student: User, sme: User, coordinator: User, stage: str
) -> None:
    """A kickoff that took place, some messages and work, check-ins; then the stage's end."""
    months = 3 if stage == "missed_checkins" else 1
    started = utcnow() - timedelta(days=30 * months + 5)
    db.session.add(
        Kickoff(
            match_id=match.id,
            slots=[{"starts_at": started.isoformat(), "place": "https://meet.example.org/demo"}],
            chosen=0,
            starts_at=started,
            place="https://meet.example.org/demo",
            confirmed_at=started - timedelta(days=2),
            reminded_at=started - timedelta(days=1),
            uid=f"kickoff-demo-{match.id}@kexport",
        )
    )
    decisions.activate(match.id, coordinator)
    db.session.get(Match, match.id).activated_at = started  # type: ignore[union-attr]
    threads.post(match.id, sme, {"body": "안녕하세요! 첫 미팅 자료를 공유드립니다."})
    threads.post(match.id, student, {"body": "Thank you! I will start with a market study."})
    for day in (3, 2, 1):
        db.session.add(
            Activity(
                match_id=match.id,
                kind=rng.choice(list(worklog.KINDS)),
                worked_on=(utcnow() - timedelta(days=day)).astimezone(KST).date(),
                hours=float(rng.choice([1, 2, 3])),
                note="Buyer list and price comparison",
                status="confirmed" if day > 1 else "logged",
            )
        )
    if stage == "missed_checkins":
        return  # months without a check-in: the dashboard flags it
    satisfaction = 2 if stage == "low_satisfaction" else rng.choice([4, 5])
    period = checkins.period_of(started)
    for side in ("student", "sme"):
        db.session.add(
            CheckIn(
                match_id=match.id,
                side=side,
                period=period,
                satisfaction=satisfaction,
                hours=float(rng.choice([20, 30, 40])),
                blockers="" if satisfaction > 2 else "연락이 잘 되지 않습니다.",
            )
        )
    if stage in ("active", "low_satisfaction"):
        return
    status = stage  # first_export | usd_100k | usd_1m
    outcomes.complete(
        match.id,
        sme,
        {
            "status": status,
            "first_export_on": (utcnow() - timedelta(days=10)).date().isoformat(),
            "markets": [match.student.nationality],
            "contracts": {"first_export": 1, "usd_100k": 2, "usd_1m": 3}[status],
        },
    )
    student_outcome = {"first_export": "further_study", "usd_100k": "job_offer"}.get(
        status, "e7_visa"
    )
    outcomes.record_student_outcome(match.id, student, {"outcome": student_outcome})
