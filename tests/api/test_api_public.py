"""Anyone: the description, the taxonomy, sign-ups; errors are JSON in the reader's language."""

from __future__ import annotations

from kexport_support import sme_data, student_data
from sqlalchemy import select

from app import taxonomy
from app.extensions import db
from app.models import SME, Consent, Role, Student, User

# The body README.md shows with curl: kept identical here, so the example is known to work.
DOC_STUDENT_BODY = {
    "email": "minh@example.org",
    "password": "correct horse battery staple",
    "name": "Tran Van Minh",
    "nationality": "VN",
    "languages": [{"code": "vi", "level": "native"}, {"code": "ko", "level": "business"}],
    "topik_level": 5,
    "university": "Korea University",
    "major": "International Trade",
    "markets": ["VN"],
    "industries": ["cosmetics", "processed_food"],
    "regions": ["seoul"],
    "hours_per_week": 10,
    "visa": "d2",
    "bio": "I help Korean brands reach Ho Chi Minh City.",
    "consent": {"collection": True, "provision_to_smes": True},
}


def test_the_documented_curl_example_signs_a_student_up(anon):
    response = anon.post("/students", DOC_STUDENT_BODY)
    assert response.status_code == 201, response.json
    user = db.session.get(User, response.json["id"])
    assert user.email == "minh@example.org" and user.role == Role.STUDENT
    assert user.student.id == response.json["profile_id"]
    assert user.student.languages[1] == {"code": "ko", "level": "business"}


def test_the_curl_example_in_the_docs_is_this_body():
    import json
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    start = doc.index("-d @- <<'JSON'") + len("-d @- <<'JSON'")
    body = json.loads(doc[start : doc.index("\nJSON", start)])
    assert body == DOC_STUDENT_BODY


def test_taxonomy_lists_every_kind_with_both_names(anon):
    response = anon.get("/taxonomy")
    assert response.status_code == 200
    assert response.json == taxonomy.as_json()
    assert {"code": "cosmetics", "name_en": "Cosmetics and beauty", "name_ko": "화장품·뷰티"} in (
        response.json["industries"]
    )


def test_an_sme_signs_up(anon):
    response = anon.post("/smes", sme_data())
    assert response.status_code == 201
    sme = db.session.get(SME, response.json["profile_id"])
    assert sme.business_number == "2208162517" and sme.user.role == Role.SME


def test_broken_fields_are_named_with_messages_in_the_readers_language(anon):
    body = student_data(name="", languages=[{"code": "xx", "level": "native"}], hours_per_week=99)
    english = anon.post("/students", body)
    assert english.status_code == 422
    error = english.json["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"name", "languages.0.code", "hours_per_week"}
    assert error["fields"]["name"] == ["This field is required."]
    korean = anon.post("/students", body, headers={"Accept-Language": "ko"})
    assert korean.json["error"]["fields"]["name"] == ["필수 입력 항목입니다."]
    assert db.session.scalar(select(User)) is None  # nothing half-written


def test_the_smes_rules_are_the_forms_rules(anon):
    response = anon.post("/smes", sme_data(business_number="220-81-62518", capacity=21))
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"business_number", "capacity"}


def test_consent_to_collection_is_required(anon):
    response = anon.post("/students", student_data(consent={"collection": False}))
    assert response.status_code == 422
    assert "consent.collection" in response.json["error"]["fields"]


def test_a_taken_email_is_a_conflict(anon, student):
    response = anon.post("/students", student_data(email=student.email.upper()))
    assert response.status_code == 409
    assert response.json["error"]["code"] == "conflict"
    assert list(response.json["error"]["fields"]) == ["email"]


def test_mass_assignment_changes_nothing(anon):
    body = student_data(
        role="coordinator", status="approved", approved=True, id=999, user_id=999, paused=True
    )
    response = anon.post("/students", body)
    assert response.status_code == 201
    user = db.session.get(User, response.json["id"])
    assert user.role == Role.STUDENT and user.id != 999
    assert user.student.paused is False and user.student.id != 999
    sme = anon.post("/smes", sme_data(role="coordinator", capacity=3, id=555))
    assert db.session.get(User, sme.json["id"]).role == Role.SME


def test_a_body_that_is_not_a_json_object(anon):
    assert (
        anon.post("/students", data="not json", content_type="application/json").status_code == 400
    )
    assert anon.post("/students").status_code == 400
    listed = anon.post("/students", ["a", "list"])
    assert listed.status_code == 422 and list(listed.json["error"]["fields"]) == ["__root__"]
    deep = "[" * 100_000 + "]" * 100_000
    assert anon.post("/students", data=deep, content_type="application/json").status_code in (
        400,
        422,
    )


def test_json_is_read_whatever_the_content_type_says(anon):
    import json

    response = anon.post("/students", data=json.dumps(student_data()), content_type="text/plain")
    assert response.status_code == 201


def test_unknown_paths_and_methods_answer_json(anon):
    assert anon.get("/nothing-here").status_code == 404
    assert anon.request("PUT", "/taxonomy").status_code == 405
    assert anon.get("/cycles/99999999999").status_code in (401, 404)


def test_signing_up_records_the_consent_and_the_language(anon):
    response = anon.post("/students", student_data(), headers={"Accept-Language": "ko-KR,ko"})
    user = db.session.get(User, response.json["id"])
    assert user.locale == "ko"
    consent = db.session.scalar(select(Consent).where(Consent.user_id == user.id))
    assert consent.collection and consent.provision_to_smes
    assert db.session.scalar(select(Student.id)) == response.json["profile_id"]


def test_no_csrf_token_is_needed_and_no_cookie_is_set(app, anon):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = anon.post("/students", student_data())
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 201
    assert "Set-Cookie" not in response.headers
