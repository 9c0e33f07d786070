"""Every route with an id in its URL answers 404 for ids no column can hold (issue 12.7).

Built from `app.url_map`, so a route added later is covered without touching this test: ids of
2**31 (past PostgreSQL's INTEGER), 2**63 and 2**64 (past SQLite's, where they used to raise
OverflowError: a 500), for every method of every rule with an `int` part."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.routing import IntegerConverter

from app import create_app
from app.web import digits_up_to

HUGE = [2**31, 2**63, 2**64, 10**30]
OTHER_VALUES = {"kind": "students", "token": "no-such-token"}

_APP = create_app({"TESTING": True})
ID_RULES = sorted(
    (
        rule
        for rule in _APP.url_map.iter_rules()
        if any(isinstance(c, IntegerConverter) for c in rule._converters.values())
    ),
    key=lambda r: r.rule,
)


def test_there_are_routes_to_check():
    assert len(ID_RULES) >= 10


@pytest.mark.parametrize("rule", ID_RULES, ids=lambda r: r.endpoint)
def test_huge_ids_are_not_found(app, client, login_as, coordinator, rule):
    login_as(coordinator)
    for value in HUGE:
        path = rule.rule
        for name, converter in rule._converters.items():
            replacement = (
                str(value) if isinstance(converter, IntegerConverter) else OTHER_VALUES[name]
            )
            path = path.replace(f"<int:{name}>", replacement).replace(f"<{name}>", replacement)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            assert response.status_code == 404, (method, path, response.status_code)


def test_ordinary_ids_still_reach_the_view(client, login_as, coordinator, student):
    login_as(coordinator)
    assert client.get(f"/coordinator/students/{student.student.id}").status_code == 200
    assert client.get("/coordinator/students/2147483647").status_code == 404


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**12), st.integers(0, 10**13))
def test_the_id_pattern_is_exactly_one_to_the_limit(limit, number):
    pattern = re.compile(digits_up_to(limit) + r"\Z")
    assert bool(pattern.match(str(number))) == (1 <= number <= limit)
    assert pattern.match(str(limit)) and not pattern.match(str(limit + 1))
