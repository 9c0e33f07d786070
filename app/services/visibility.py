"""Who may see which match: ONE rule, asked by every page and every API call (flaskr's
`get_post(id, check_author)` is the shape).

- A coordinator sees every match.
- A student sees their own matches, whatever their status.
- An SME sees its own, except those withdrawn, and only of students who still consent to the
  provision of their profile to SMEs: withdrawing consent hides a student from every SME, past
  and approved matches included (the rows stay for the programme's records).
- Anyone else sees nothing.

`visible_to(user)` is the query every list starts from; `get_visible_match(match_id, user)`
answers one match or raises NotFound — never "forbidden", so a match's existence is not revealed.
What a reader may *do* with a match it sees (answer, approve, write in its thread) is each
service's own rule on top of this one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, false, select

from app.extensions import db
from app.models import Match, MatchStatus, Role, User
from app.services import eligibility
from app.services.errors import NotFound
from app.services.plain_reads import one_of

# An SME never sees a proposal hidden because the student withdrew consent or paused.
SME_VISIBLE = tuple(s for s in MatchStatus if s != MatchStatus.WITHDRAWN)


def student_can_see(student_id: int | ColumnElement[int]) -> tuple[ColumnElement[bool], ...]:
    """The conditions on Match for the matches one student may see (`student_id` may be a bound
    parameter: app.services.reviews._proposal_rows_query)."""
    return (Match.student_id == student_id,)


def sme_can_see(sme_id: int | ColumnElement[int]) -> tuple[ColumnElement[bool], ...]:
    """The conditions on Match for the matches one SME may see (`sme_id` may be a bound
    parameter, for a statement built once: app.services.reviews._sme_rows_query)."""
    return (
        Match.sme_id == sme_id,
        one_of(Match.status, SME_VISIBLE),  # in the SME's rows statement, built once
        eligibility.shown_to_smes(Match.student_id),
    )


def conditions_for(user: User) -> tuple[ColumnElement[bool], ...]:
    """The conditions on Match for everything `user` may see (none for a coordinator)."""
    if user.role == Role.COORDINATOR:
        return ()
    if user.role == Role.STUDENT and user.student is not None:
        return student_can_see(user.student.id)
    if user.role == Role.SME and user.sme is not None:
        return sme_can_see(user.sme.id)
    return (false(),)


def visible_to(user: User, *options: Any) -> Select[Match]:
    """Every match `user` may see, as a query to narrow, order and page."""
    return select(Match).where(*conditions_for(user)).options(*options)


def get_visible_match(match_id: int, user: User) -> Match:
    """The match if `user` may see it; NotFound otherwise (whether or not it exists)."""
    match = db.session.scalar(visible_to(user).where(Match.id == match_id))
    if match is None:
        raise NotFound("no such match")
    return match


def side_of(user: User) -> str:
    """How a reader of a visible match sees it: `student`, `sme` or `coordinator`."""
    return {Role.STUDENT: "student", Role.SME: "sme"}.get(user.role, "coordinator")
