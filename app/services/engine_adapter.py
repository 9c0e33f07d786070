"""The one place where rows become the engine's plain data, and the engine's answers become rows.

Reads with Core selects (no ORM objects): a cycle at 10,000 × 5,000 loads tens of thousands of
rows, and building ORM instances for them would cost more than the engine itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import SME, SMECode, Student, StudentCode, StudentLanguage
from matching.model import Reason
from matching.profiles import SMEProfile, StudentProfile


def chunks(ids: Sequence[int], size: int = 5000) -> Iterable[Sequence[int]]:
    # Bounded IN lists: SQLite caps bound parameters, PostgreSQL plans long lists slowly.
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def load_students(ids: Sequence[int]) -> list[StudentProfile]:
    languages: dict[int, dict[str, str]] = defaultdict(dict)
    codes: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    rows: list[Any] = []
    for chunk in chunks(ids):
        rows += db.session.execute(
            select(
                Student.id,
                Student.nationality,
                Student.topik_level,
                Student.hours_per_week,
                Student.major,
                Student.bio,
            ).where(Student.id.in_(chunk))
        ).all()
        for sid, code, level in db.session.execute(
            select(StudentLanguage.student_id, StudentLanguage.code, StudentLanguage.level).where(
                StudentLanguage.student_id.in_(chunk)
            )
        ):
            languages[sid][code] = level
        for sid, kind, code in db.session.execute(
            select(StudentCode.student_id, StudentCode.kind, StudentCode.code).where(
                StudentCode.student_id.in_(chunk)
            )
        ):
            codes[sid][kind].append(code)
    return [
        StudentProfile(
            id=row.id,
            nationality=row.nationality,
            languages=languages[row.id],
            markets=tuple(sorted(codes[row.id]["market"])),
            industries=tuple(sorted(codes[row.id]["industry"])),
            regions=tuple(sorted(codes[row.id]["region"])),
            topik_level=row.topik_level,
            hours_per_week=row.hours_per_week,
            text=f"{row.major}. {row.bio or ''}",
        )
        for row in rows
    ]


def load_smes(ids: Sequence[int]) -> list[SMEProfile]:
    codes: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    rows: list[Any] = []
    for chunk in chunks(ids):
        rows += db.session.execute(
            select(
                SME.id, SME.region, SME.capacity, SME.min_topik, SME.products, SME.description
            ).where(SME.id.in_(chunk))
        ).all()
        for sme_id, kind, code in db.session.execute(
            select(SMECode.sme_id, SMECode.kind, SMECode.code).where(SMECode.sme_id.in_(chunk))
        ):
            codes[sme_id][kind].append(code)
    return [
        SMEProfile(
            id=row.id,
            industries=tuple(sorted(codes[row.id]["industry"])),
            markets=tuple(sorted(codes[row.id]["market"])),
            languages_needed=tuple(sorted(codes[row.id]["language"])),
            region=row.region,
            capacity=row.capacity,
            min_topik=row.min_topik,
            text=f"{row.products}. {row.description or ''}",
        )
        for row in rows
    ]


def reason_rows(reasons: Iterable[Reason]) -> list[dict[str, Any]]:
    """Reasons as stored on a match: codes and numbers, translated only when shown."""
    return [
        {
            "factor": r.factor,
            "key": r.key,
            "params": dict(r.params),
            "weight": round(float(r.weight), 6),
            "detail": r.detail,
        }
        for r in reasons
    ]
