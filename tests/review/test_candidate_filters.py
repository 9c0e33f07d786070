"""The SME candidates page's filters, the shortlist after a decision, and the CV's file name
(issue 13, item 8); the page itself in a browser: tests/browser/test_sme_candidates.py."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.extensions import db
from app.models import Match
from app.services import cycles, decisions, reviews, uploads
from app.services.errors import InvalidInput


def _parsed_filename(disposition: str) -> str:
    """The name a browser saves under: `filename*` wins over `filename` (RFC 6266, 4.3)."""
    found = re.search(r"filename\*=UTF-8''([^;\s]+)", disposition)
    assert found, disposition
    return unquote(found.group(1), errors="strict")


def _fallback(disposition: str) -> str:
    found = re.fullmatch(r'attachment; filename="([ -~]*)"; filename\*=.+', disposition)
    assert found, disposition
    assert '"' not in found.group(1) and "\\" not in found.group(1)
    return found.group(1)


@given(st.text(min_size=1, max_size=120))
def test_any_name_survives_the_content_disposition(name):
    """Whatever the student's name, the header is one line, an ASCII fallback is always there,
    and a reader of RFC 5987 gets the file name back exactly."""
    filename = uploads.cv_filename(name)
    header = uploads.attachment_disposition(filename, fallback="cv-7.pdf")
    assert header.isascii() and "\r" not in header and "\n" not in header
    assert _fallback(header)
    assert _parsed_filename(header) == filename
    assert filename.endswith(" - CV.pdf") and "/" not in filename and "\\" not in filename


def test_a_korean_name_has_an_ascii_fallback():
    header = uploads.attachment_disposition(uploads.cv_filename("김민지"), fallback="cv-7.pdf")
    assert _fallback(header) == "cv-7.pdf"
    assert _parsed_filename(header) == "김민지 - CV.pdf"
    latin = uploads.attachment_disposition(uploads.cv_filename("Nguyễn Thu"), fallback="x.pdf")
    assert _fallback(latin) == "Nguyen Thu - CV.pdf"
    latin = uploads.attachment_disposition(uploads.cv_filename("Đặng Thu"), fallback="x.pdf")
    assert _fallback(latin) == "x.pdf"  # no letter goes missing


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"language": "klingon"}, "language"),
        ({"market": "XX"}, "market"),
        ({"region": "atlantis"}, "region"),
        ({"topik": "7"}, "topik"),
        ({"topik": "-1"}, "topik"),
        ({"topik": "four"}, "topik"),
        ({"sort": "random"}, "sort"),
    ],
)
def test_filters_that_are_not_codes_are_named(args, field):
    with pytest.raises(InvalidInput) as caught:
        reviews.candidate_filters(args)
    assert set(caught.value.fields) == {field}


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.dictionaries(
        st.sampled_from(["language", "market", "topik", "region", "sort"]), st.text(max_size=30)
    )
)
def test_any_query_string_is_read_or_refused_by_field(args):
    refused: set[str] = set()
    try:
        filters = reviews.candidate_filters(args)
    except InvalidInput as error:
        refused = set(error.fields)
    else:
        assert 0 <= filters.topik <= 6 and filters.sort in reviews.SORTS
    assert refused <= set(args)


def test_the_page_refuses_a_bad_filter_with_400(client, login_as, sme):
    login_as(sme)
    assert client.get("/sme/candidates?language=vi&sort=name").status_code == 200
    response = client.get("/sme/candidates?language=klingon")
    assert response.status_code == 400
    assert "Choose a value from the list." in response.get_data(as_text=True)


def test_an_sme_decision_clears_its_shortlist(student, sme):
    cycles.run_cycle()
    match = db.session.scalar(select(Match))
    reviews.toggle_shortlist(sme, match.id)
    db.session.commit()
    assert match.sme_shortlisted
    decisions.decide(match.id, sme, "accept")
    db.session.commit()
    assert db.session.scalar(select(Match.sme_shortlisted).where(Match.id == match.id)) is False
