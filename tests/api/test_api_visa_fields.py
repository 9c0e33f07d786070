"""The visa rules' fields through the API: sign-up bodies, /me, the taxonomy, the description."""

from __future__ import annotations

from kexport_support import sme_data, student_data
from sqlalchemy import select

from app.extensions import db
from app.models import User


def test_a_student_signs_up_with_the_visa_fields_and_reads_them_back(anon, as_user):
    body = student_data(
        degree_level="bachelor",
        year_of_study=2,
        expected_graduation="2029-02",
        in_korea_since="2025-03",
    )
    response = anon.post("/students", body)
    assert response.status_code == 201, response.json
    me = as_user(db.session.get(User, response.json["id"])).get("/me").json["student"]
    assert (me["degree_level"], me["year_of_study"]) == ("bachelor", 2)
    assert (me["expected_graduation"], me["in_korea_since"]) == ("2029-02", "2025-03")


def test_an_sme_signs_up_with_section_hours_and_period(anon, as_user):
    body = sme_data(ksic_section="C", hours_needed=20, period_start="2027-01-04")
    response = anon.post("/smes", body)
    assert response.status_code == 201, response.json
    me = as_user(db.session.get(User, response.json["id"])).get("/me").json["sme"]
    assert (me["ksic_section"], me["hours_needed"]) == ("C", 20)
    assert (me["period_start"], me["period_end"]) == ("2027-01-04", None)


def test_older_clients_without_the_fields_still_sign_up(anon, as_user):
    response = anon.post("/students", student_data())
    assert response.status_code == 201
    me = as_user(db.session.get(User, response.json["id"])).get("/me").json["student"]
    assert me["degree_level"] is None and me["expected_graduation"] is None


def test_bad_visa_fields_are_named_in_both_languages(anon):
    body = student_data(degree_level="phd", expected_graduation="2027/02", year_of_study=0)
    english = anon.post("/students", body)
    assert english.status_code == 422
    fields = english.json["error"]["fields"]
    assert set(fields) == {"degree_level", "expected_graduation", "year_of_study"}
    assert fields["expected_graduation"] == ["Enter a month as YYYY-MM, e.g. 2027-02."]
    korean = anon.post("/students", body, headers={"Accept-Language": "ko"})
    assert korean.json["error"]["fields"]["expected_graduation"] == [
        "연-월 형식(YYYY-MM)으로 입력하세요. 예: 2027-02"
    ]
    sme = anon.post("/smes", sme_data(ksic_section="Z", hours_needed=80))
    assert set(sme.json["error"]["fields"]) == {"ksic_section", "hours_needed"}
    assert db.session.scalar(select(User)) is None  # nothing half-written


def test_the_taxonomy_lists_ksic_sections_and_degree_levels(anon):
    data = anon.get("/taxonomy").json
    assert len(data["ksic_sections"]) == 21
    assert {"code": "C", "name_en": "C. Manufacturing", "name_ko": "C. 제조업"} in data[
        "ksic_sections"
    ]
    assert [t["code"] for t in data["degree_levels"]] == [
        "language",
        "associate",
        "bachelor",
        "master",
        "doctorate",
    ]


def test_the_description_documents_the_fields(anon):
    doc = anon.get("/openapi.json").json
    schemas = doc["components"]["schemas"]
    student = next(s for name, s in schemas.items() if name.startswith("StudentSignup"))
    assert {"degree_level", "year_of_study", "expected_graduation", "in_korea_since"} <= set(
        student["properties"]
    )
    sme = next(s for name, s in schemas.items() if name.startswith("SMESignup"))
    assert {"ksic_section", "hours_needed", "period_start", "period_end"} <= set(sme["properties"])
    assert "ksic_sections" in schemas["TaxonomyOut"]["properties"]
