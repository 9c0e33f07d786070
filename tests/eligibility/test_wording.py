"""Every reason key and block code the engine can give is worded, in English and Korean, in one
place (app.services.explanations), and every reader gets those words: pages, emails, the API, CSV
and the command line."""

from __future__ import annotations

import csv
import io
import re

import pytest
from flask_babel import force_locale
from sqlalchemy import select

import matching
from app.extensions import db
from app.models import Match, OutboxMessage
from app.services import cycles, explanations, exports
from tests.layering import reachable

HANGUL = re.compile(r"[\uac00-\ud7a3]")

# A plausible value for every parameter name the engine uses. A key with a parameter not listed
# here fails the test below: word it, then add a sample.
SAMPLE_PARAMS = {
    "language": "vi",
    "level": "native",
    "market": "VN",
    "industry": "cosmetics",
    "sme_industry": "household_goods",
    "region": "seoul",
    "sme_region": "gyeonggi",
    "topik": 3,
    "min_topik": 4,
    "similarity": 0.42,
    "hours": 15,
    "hours_needed": 20,
}
# A plausible value for every parameter of a block code (matching.BLOCK_CODES), as above.
SAMPLE_BLOCK_PARAMS = {
    "topik": 2,
    "required_topik": 4,
    "min_topik": 3,
    "hours_needed": 20,
    "max_hours": 10,
    "visa": "d2",
    "section": "B",
    "current_workplaces": 2,
    "max_workplaces": 2,
    "months_in_korea": 3,
    "required_months": 6,
    "available_from": "2026-01-01",
    "available_until": "2026-02-28",
    "period_start": "2026-03-01",
    "period_end": "2026-08-31",
}


def _words(text: str, locale: str) -> None:
    assert text.strip(), "empty"
    assert "%(" not in text and "{" not in text, text  # every placeholder filled
    if locale == "ko":
        assert HANGUL.search(text), text


@pytest.mark.parametrize("audience", ["coordinator", "sme", "student"])
@pytest.mark.parametrize("key", sorted(matching.REASON_KEYS))
def test_every_reason_key_is_worded_in_both_languages(app, key, audience):
    missing = set(matching.REASON_KEYS[key]) - set(SAMPLE_PARAMS)
    assert not missing, f"{key}: no sample for {missing}; word the new parameter first"
    reason = {"key": key, "params": {p: SAMPLE_PARAMS[p] for p in matching.REASON_KEYS[key]}}
    assert key in explanations.worded_reason_keys(), f"{key} has no wording"
    sentences = {}
    for locale in ("en", "ko"):
        with app.test_request_context(), force_locale(locale):
            sentences[locale] = explanations.reason_text(reason, audience)
            _words(sentences[locale], locale)
            assert key not in sentences[locale]  # not the fallback that names the key
    assert sentences["en"] != sentences["ko"]


@pytest.mark.parametrize("code", sorted(matching.BLOCK_CODES))
@pytest.mark.parametrize("with_params", [False, True])
def test_every_block_code_is_worded_in_both_languages(app, code, with_params):
    missing = set(matching.BLOCK_CODES[code]) - set(SAMPLE_BLOCK_PARAMS)
    assert not missing, f"{code}: no sample for {missing}; word the new parameter first"
    params = {p: SAMPLE_BLOCK_PARAMS[p] for p in matching.BLOCK_CODES[code]}
    assert code in explanations.worded_block_codes(), f"{code} has no wording"
    sentences = {}
    for locale in ("en", "ko"):
        with app.test_request_context(), force_locale(locale):
            sentences[locale] = explanations.block_text(code, params if with_params else None)
            _words(sentences[locale], locale)
            assert code not in sentences[locale]
    assert sentences["en"] != sentences["ko"]


def test_parameters_make_the_block_sentence_precise(app):
    with app.test_request_context(), force_locale("en"):
        text = explanations.block_text("visa.hours", {"max_hours": 10, "hours_needed": 20})
    assert "20" in text and "10" in text


def test_an_unknown_key_is_named_not_hidden(app):
    with app.test_request_context(), force_locale("ko"):
        text = explanations.reason_text({"key": "retired.key", "detail": "old English"})
    assert "retired.key" in text and "old English" not in text


def test_the_wording_module_sits_above_i18n():
    # i18n used to import explanations from inside functions (and explanations imported i18n).
    assert "app.services.explanations" not in reachable("app.i18n")


# --- every reader gets the same words ----------------------------------------------------------


@pytest.fixture
def proposed(student, sme) -> Match:
    cycles.run_cycle()
    match = db.session.scalar(select(Match))
    assert match is not None
    return match


def test_stored_reasons_keep_keys_not_the_engines_english(proposed):
    assert proposed.reasons
    assert all(set(r) == {"factor", "key", "params", "weight"} for r in proposed.reasons)


def _worded(app, reasons, locale, audience="coordinator"):
    with app.test_request_context(), force_locale(locale):
        sentences = explanations.top_reasons(reasons, n=None, audience=audience)
    assert sentences
    return sentences


def test_the_coordinators_page_and_csv_use_the_module(app, client, login_as, coordinator, proposed):
    expected = _worded(app, proposed.reasons, "ko")
    assert all(HANGUL.search(s) for s in expected)
    login_as(coordinator)
    client.post("/language", data={"locale": "ko"})
    page = client.get(f"/coordinator/matches/{proposed.id}").get_data(as_text=True)
    assert all(sentence in page for sentence in expected)
    with app.test_request_context(), force_locale("ko"):
        content, _count = exports.csv_bytes("matches")
    lines = io.StringIO(content.decode("utf-8-sig"))
    lines.readline()  # the column names in Korean; the codes come next
    [row] = list(csv.DictReader(lines))
    assert row["reasons"] == " | ".join(expected)


def test_the_students_email_uses_the_module(app, student, sme):
    student.locale = "ko"
    db.session.commit()
    cycles.run_cycle()
    match = db.session.scalar(select(Match))
    mail = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "proposal_student"))
    for sentence in _worded(app, match.reasons, "ko", "student")[:3]:
        assert sentence in mail.body_text


def test_the_command_line_words_reasons_from_the_module(app, runner, student, sme):
    result = runner.invoke(args=["match", "run"])
    assert result.exit_code == 0, result.output
    match = db.session.scalar(select(Match))
    first = _worded(app, match.reasons, "en")[0]
    assert first[:60] in result.output
