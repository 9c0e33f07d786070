"""The request's query and form values (`app.web.QueryValues`): werkzeug's answers, a missing key
answered without raising (issue 14: the pages read several optional filters per request)."""

from __future__ import annotations

import pytest
from flask import Flask, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequestKeyError

from app.web import QueryValues


def test_query_values_answer_as_werkzeugs_multidict_does() -> None:
    pairs = [("page", "3"), ("page", "4"), ("market", ""), ("topik", "x")]
    ours, theirs = QueryValues(pairs), MultiDict(pairs)
    for key, default, kind in [
        ("page", None, None),
        ("page", 1, int),
        ("market", "none", None),
        ("topik", 0, int),
        ("missing", "d", None),
        ("missing", 1, int),
    ]:
        assert ours.get(key, default, type=kind) == theirs.get(key, default, type=kind)
    assert ours["page"] == "3"
    with pytest.raises(BadRequestKeyError):
        ours["missing"]  # indexing still raises: a required value that is missing is a 400


def test_a_missing_query_value_is_answered_without_raising(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    raised: list[object] = []
    original = BadRequestKeyError.__init__

    def counted(self: BadRequestKeyError, *args: object, **kwargs: object) -> None:
        raised.append(args)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    with app.test_request_context("/?page=3"):
        args = request.args
        assert isinstance(args, QueryValues)
        monkeypatch.setattr(BadRequestKeyError, "__init__", counted)
        assert args.get("page", 1, type=int) == 3
        assert args.get("sort", "fit") == "fit"
        assert args.get("market") is None
        assert raised == []
