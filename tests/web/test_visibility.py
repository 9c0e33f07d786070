"""One lookup per rule (issue 16, item 2): who may see a match, how a list of matches is
filtered and paged — the pages and the API ask the same functions, so they cannot disagree.

Each test drives both through HTTP, for every kind of reader, and checks them against each other
and against the rule as the programme states it (app.services.visibility's docstring)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kexport_support import PASSWORD
from sqlalchemy import delete

from app.extensions import db
from app.models import Match, MatchStatus, User
from app.services import accounts, tokens

STATUSES = [status.value for status in MatchStatus]
PAIRS = [(s, m) for s in range(2) for m in range(2)]  # (student index, SME index)
FIXTURE_SETTINGS = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def world(app: Flask, make_student: Any, make_sme: Any, coordinator: User) -> dict[str, Any]:
    """Two students, two SMEs and a coordinator, each with a logged-in browser and a token."""
    students = [
        make_student(),
        make_student(email="second@example.org", name="Tran Van Binh"),
    ]
    smes = [make_sme(), make_sme(email="other@example.org", business_number="124-81-00998")]
    readers: dict[str, dict[str, Any]] = {}
    for name, user in [
        ("student0", students[0]),
        ("student1", students[1]),
        ("sme0", smes[0]),
        ("sme1", smes[1]),
        ("coordinator", coordinator),
    ]:
        browser = app.test_client()
        response = browser.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302
        _token, secret = tokens.issue(user)
        readers[name] = {"user": user, "browser": browser, "auth": f"Bearer {secret}"}
    db.session.commit()
    return {"students": students, "smes": smes, "readers": readers}


def _set_up(world: dict[str, Any], statuses: list[str | None], consents: list[bool]) -> list[int]:
    """The matches drawn (one per pair, or none) and each student's consent to provision."""
    db.session.execute(delete(Match))
    for student, provision in zip(world["students"], consents, strict=True):
        accounts.update_consent(student, {"collection": True, "provision_to_smes": provision})
    ids = []
    for (s, m), status in zip(PAIRS, statuses, strict=True):
        if status is None:
            continue
        match = Match(
            student_id=world["students"][s].student.id,
            sme_id=world["smes"][m].sme.id,
            status=MatchStatus(status),
            score=0.5,
            student_view=0.5,
            sme_view=0.5,
            reasons=[],
            proposed_by="coordinator",
        )
        db.session.add(match)
        db.session.flush()
        ids.append(match.id)
    db.session.commit()
    return ids


def _by_the_rule(reader: str, match: Match, consents: list[bool], world: dict[str, Any]) -> bool:
    """The rule as the programme states it, written out independently of the code."""
    if reader == "coordinator":
        return True
    index = int(reader[-1])
    if reader.startswith("student"):
        return match.student_id == world["students"][index].student.id
    student_index = next(
        i for i, s in enumerate(world["students"]) if s.student.id == match.student_id
    )
    return (
        match.sme_id == world["smes"][index].sme.id
        and match.status != MatchStatus.WITHDRAWN
        and consents[student_index]
    )


def _page_sees(reader: str, browser: FlaskClient, match_id: int) -> bool:
    """Whether a page about this match answers anything but 404 (an empty answer to a proposal
    is refused with words and changes nothing)."""
    if reader == "coordinator":
        url = f"/coordinator/matches/{match_id}"
        return browser.get(url).status_code != 404
    if reader.startswith("student"):
        url = f"/student/proposals/{match_id}/decision"
    else:
        url = f"/sme/candidates/{match_id}/decision"
    return browser.post(url, data={}).status_code != 404


def _api_list(client: FlaskClient, auth: str, query: str = "") -> Any:
    return client.get(f"/api/v1/matches?per_page=100{query}", headers={"Authorization": auth})


@FIXTURE_SETTINGS
@given(
    statuses=st.lists(st.sampled_from([None, *STATUSES]), min_size=4, max_size=4),
    consents=st.lists(st.booleans(), min_size=2, max_size=2),
)
def test_page_and_api_show_every_reader_the_same_matches(
    world: dict[str, Any], client: FlaskClient, statuses: list[str | None], consents: list[bool]
) -> None:
    ids = _set_up(world, statuses, consents)
    for name, reader in world["readers"].items():
        listed = {m["id"] for m in _api_list(client, reader["auth"]).get_json()["items"]}
        for match_id in ids:
            match = db.session.get(Match, match_id)
            assert match is not None
            expected = _by_the_rule(name, match, consents, world)
            one = client.get(
                f"/api/v1/matches/{match_id}", headers={"Authorization": reader["auth"]}
            )
            page = _page_sees(name, reader["browser"], match_id)
            assert (match_id in listed, one.status_code == 200, page) == (expected,) * 3, (
                name,
                match.status,
                consents,
            )


COORDINATOR_LINK = re.compile(r'href="/coordinator/matches/(\d+)"')


@FIXTURE_SETTINGS
@given(
    statuses=st.lists(st.sampled_from([None, *STATUSES]), min_size=4, max_size=4),
    status=st.sampled_from(["", *STATUSES, "ready", "Approved", "bogus"]),
    market=st.sampled_from(["", "VN", "TH", "US", "XX"]),
    score_min=st.sampled_from(["", "0", "0.5", "0.75", "1.5", "abc"]),
)
def test_page_and_api_filter_matches_by_one_rule(
    world: dict[str, Any],
    client: FlaskClient,
    statuses: list[str | None],
    status: str,
    market: str,
    score_min: str,
) -> None:
    """The coordinators' page and GET /api/v1/matches parse the same filters by the same
    rules: where the API answers, both list the same matches; where it refuses a filter with a
    422 naming the field, the page leaves that filter out (it filters nothing) and lists what
    the API lists without it."""
    _set_up(world, statuses, [True, True])
    coordinator = world["readers"]["coordinator"]
    args = {"status": status, "market": market, "score_min": score_min}
    query = "".join(f"&{k}={v}" for k, v in args.items() if v)
    answer = _api_list(client, coordinator["auth"], query)
    if answer.status_code == 422:
        broken = set(answer.get_json()["error"]["fields"])
        assert broken and broken <= {k for k, v in args.items() if v}
        query = "".join(f"&{k}={v}" for k, v in args.items() if v and k not in broken)
        answer = _api_list(client, coordinator["auth"], query)
    assert answer.status_code == 200
    api_ids = [m["id"] for m in answer.get_json()["items"]]
    html = coordinator["browser"].get(f"/coordinator/matches?{query[1:]}")
    assert html.status_code == 200
    page_ids = list(dict.fromkeys(map(int, COORDINATOR_LINK.findall(html.get_data(as_text=True)))))
    assert page_ids == api_ids  # the same matches, in the same order


def test_page_and_api_page_alike(world: dict[str, Any], client: FlaskClient) -> None:
    """One pagination helper: the API's pages of 2 are the page's list, cut in twos."""
    _set_up(world, STATUSES[:4], [True, True])
    coordinator = world["readers"]["coordinator"]
    html = coordinator["browser"].get("/coordinator/matches").get_data(as_text=True)
    page_ids = list(dict.fromkeys(map(int, COORDINATOR_LINK.findall(html))))
    api_ids: list[int] = []
    for number in (1, 2, 3):
        answer = client.get(
            f"/api/v1/matches?per_page=2&page={number}",
            headers={"Authorization": coordinator["auth"]},
        ).get_json()
        assert answer["total"] == 4
        api_ids += [m["id"] for m in answer["items"]]
    assert api_ids == page_ids and len(page_ids) == 4
