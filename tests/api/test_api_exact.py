"""Issue 13 item 12: the description says exactly what the server takes.

The live run (test_api_live.py) finds such gaps by sampling; these pin each one found there: JSON
types are strict, codes are the taxonomy's enums, fixed rules are in the description, a 405 says
which methods the URL takes.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kexport_support import sme_data, student_data

from app import schemas, taxonomy
from app.api.schemas import openapi_document
from app.services.errors import InvalidInput
from app.services.validation import validate


@pytest.fixture(scope="module")
def components() -> dict[str, Any]:
    return openapi_document()["components"]["schemas"]  # type: ignore[no-any-return]


def test_codes_are_the_taxonomy_s_enums(components):
    student = components["StudentSignup"]["properties"]
    sme = components["SMESignup"]["properties"]
    skill = components["LanguageSkill"]["properties"]
    assert student["nationality"]["enum"] == sorted(taxonomy.codes("countries"))
    assert student["markets"]["items"]["enum"] == sorted(taxonomy.codes("countries"))
    assert student["industries"]["items"]["enum"] == sorted(taxonomy.codes("industries"))
    assert student["regions"]["items"]["enum"] == sorted(taxonomy.codes("regions"))
    assert student["visa"]["enum"] == sorted(taxonomy.codes("visa_types"))
    assert skill["code"]["enum"] == sorted(taxonomy.codes("languages"))
    assert skill["level"]["enum"] == sorted(taxonomy.codes("levels"))
    assert sme["region"]["enum"] == sorted(taxonomy.codes("regions"))
    assert sme["languages_needed"]["items"]["enum"] == sorted(taxonomy.codes("languages"))
    degree = [b for b in student["degree_level"]["anyOf"] if "enum" in b]
    assert degree[0]["enum"] == sorted(taxonomy.codes("degree_levels"))


def test_fixed_rules_are_in_the_description(components):
    assert components["ConsentIn"]["properties"]["collection"]["const"] is True
    number = components["SMESignup"]["properties"]["business_number"]
    assert number["format"] == schemas.BUSINESS_NUMBER_FORMAT
    assert re.fullmatch(number["pattern"], "220-81-62517")
    assert not re.search(number["pattern"], "22081625170")
    password = components["StudentSignup"]["properties"]["password"]
    assert (password["minLength"], password["maxLength"]) == (8, 1024)
    name = components["StudentSignup"]["properties"]["name"]["pattern"]
    assert re.search(name, "Trần Văn Minh") and re.search(name, "홍길동")
    for hidden in ("   ", "\u202eevil", "\u3164", "a\x00b", "\u0301"):
        assert not re.search(name, hidden), repr(hidden)
    bio = components["StudentSignup"]["properties"]["university"]["pattern"]
    assert not re.search(bio, " \t ") and not re.search(bio, "a\x07")


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=12))
def test_the_name_pattern_and_the_name_rule_agree(text):
    pattern = re.compile(schemas.name_pattern())
    try:
        validate(schemas.StudentProfileIn, {**student_data(), "name": text})
        accepted = True
    except InvalidInput as exc:
        accepted = "name" not in exc.fields
    described = pattern.search(text.strip()) is not None and 1 <= len(text.strip()) <= 100
    # Stricter than the server in one corner only: a joiner between two letters.
    if described or "\u200c" in text or "\u200d" in text:
        assert accepted or not described, repr(text)
    else:
        assert not accepted, repr(text)


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("override", 0, "/matches"),
        ("override", "true", "/matches"),
        ("student_id", "1", "/matches"),
    ],
)
def test_a_json_body_must_have_the_described_types(as_user, coordinator, field, value, path):
    response = as_user(coordinator).post(path, {"student_id": 1, "sme_id": 1, field: value})
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"capacity": "5"}, "capacity"),
        ({"exporting": 1}, "exporting"),
        ({"period_start": 0}, "period_start"),
        ({"business_number": 2208162517}, "business_number"),
        ({"consent": {"collection": 1}}, "consent.collection"),
    ],
)
def test_sign_up_types_are_strict_in_json(anon, overrides, field):
    response = anon.post("/smes", sme_data(**overrides))
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]


def test_forms_and_queries_stay_lax():
    """Text from a form or a CSV cell is converted as before: "5" is 5, "" is not stated."""
    form = validate(schemas.SMESignup, sme_data(capacity="5", period_start="", exporting="on"))
    assert form.capacity == 5 and form.period_start is None and form.exporting is True


def test_blank_optional_choices_are_described_and_accepted(anon, components):
    branches = components["StudentSignup"]["properties"]["degree_level"]["anyOf"]
    assert any(b.get("pattern") == r"^\s*$" for b in branches)
    response = anon.post("/students", student_data(degree_level="", year_of_study=""))
    assert response.status_code == 201, response.json


def test_405_names_the_allowed_methods(anon, client):
    response = anon.request("PUT", "/taxonomy")
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"
    assert set(re.split(r",\s*", response.headers["Allow"])) >= {"GET"}
    page = client.get("/logout")
    assert page.status_code == 405 and "POST" in page.headers["Allow"]


def test_an_unknown_student_in_a_pair_is_404_naming_the_field(as_user, coordinator, sme):
    response = as_user(coordinator).post(
        "/matches", {"student_id": 2**31 - 2, "sme_id": sme.sme.id}
    )
    assert response.status_code == 404
    assert list(response.json["error"]["fields"]) == ["student_id"]
