"""Issue 13 item 5 (server side): the sign-up's step checks, a form sent back keeps what was
typed (the password too, unless it was the error), the CV step, the completeness meter."""

from __future__ import annotations

import re

from kexport_support import PASSWORD, sme_form, student_form
from sqlalchemy import select

from app.extensions import db
from app.models import SME, Student, User


def test_a_step_check_answers_only_that_steps_fields(client):
    form = student_form(name="", markets=None, hours_per_week="100")
    form["step"] = "1"
    answer = client.post("/student/signup/check", data=form).get_json()
    assert set(answer["errors"]) == {"name"}
    form["step"] = "2"
    assert set(client.post("/student/signup/check", data=form).get_json()["errors"]) == {"markets"}
    form["step"] = "3"
    errors = client.post("/student/signup/check", data=form).get_json()["errors"]
    assert errors == {"hours_per_week": ["Enter a number of at most 40."]}
    form["step"] = "4"
    assert client.post("/student/signup/check", data=form).get_json()["errors"] == {}
    assert db.session.scalar(select(User)) is None  # a check saves nothing


def test_a_step_check_names_language_rows_and_consent(client):
    form = student_form(**{"languages-0-level": "", "consent_collection": None})
    form["step"] = "2"
    assert (
        "languages-0-level" in client.post("/student/signup/check", data=form).get_json()["errors"]
    )
    form["step"] = "4"
    assert (
        "consent_collection" in client.post("/student/signup/check", data=form).get_json()["errors"]
    )


def test_the_sme_steps_are_checked_the_same_way(client):
    form = sme_form(company_name=None, capacity="0")
    form["step"] = "2"
    errors = client.post("/sme/signup/check", data=form).get_json()["errors"]
    assert set(errors) == {"company_name_en"}
    form["step"] = "3"
    assert set(client.post("/sme/signup/check", data=form).get_json()["errors"]) == {"capacity"}


def _password_value(page: str) -> str | None:
    match = re.search(r'<input[^>]*name="password"[^>]*>', page)
    assert match, "no password field"
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else None


def test_errors_keep_what_was_typed_and_the_password_unless_it_was_wrong(client):
    page = client.post("/student/signup", data=student_form(hours_per_week="100")).get_data(
        as_text=True
    )
    assert _password_value(page) == PASSWORD  # not re-asked: it was not the error
    assert 'value="Nguyen Thi Linh"' in page
    assert 'value="VN" data-alt="Vietnam" selected' in page  # the market chosen
    page = client.post("/student/signup", data=student_form(password="password")).get_data(
        as_text=True
    )
    assert not _password_value(page)  # the error: asked again
    assert "This password is among the most common ones" in page
    assert 'value="Nguyen Thi Linh"' in page
    page = client.post("/sme/signup", data=sme_form(capacity="99")).get_data(as_text=True)
    assert _password_value(page) == PASSWORD


def test_signing_up_leads_to_the_cv_step_then_the_meter_prompts(client):
    response = client.post("/student/signup", data=student_form())
    assert response.status_code == 302 and response.location.endswith("/student/signup/cv")
    page = client.get("/student/signup/cv").get_data(as_text=True)
    assert "Step 5 of 5" in page and "Skip for now" in page
    dashboard = client.get("/student/").get_data(as_text=True)
    student = db.session.scalar(select(Student))
    # Bio given; no CV, no period, no studies, no visa dates: 1 of 5.
    assert 'data-completeness="20"' in dashboard
    for key in ("cv", "availability", "studies", "visa_dates"):
        assert f'data-missing="{key}"' in dashboard
    assert 'data-missing="bio"' not in dashboard
    response = client.post(
        "/student/signup/cv",
        data={"cv": (__import__("io").BytesIO(b"%PDF-1.4\n%%EOF\n"), "cv.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and response.location.endswith("/student/")
    db.session.expire_all()
    assert db.session.get(Student, student.id).cv_stored_name
    assert 'data-missing="cv"' not in client.get("/student/profile").get_data(as_text=True)


def test_the_sme_meter_asks_for_the_other_language(client):
    assert client.post("/sme/signup", data=sme_form()).status_code == 302
    page = client.get("/sme/").get_data(as_text=True)
    assert 'data-missing="name_both"' in page and 'data-missing="products_both"' in page
    sme = db.session.scalar(select(SME))
    sme.company_name_en, sme.products_en = "Hanbit", "Sunscreen"
    sme.ksic_section = "C"
    db.session.commit()
    page = client.get("/sme/profile").get_data(as_text=True)
    assert 'data-missing="name_both"' not in page and 'data-missing="period"' in page


def test_the_country_picker_is_one_select_without_javascript(client):
    page = client.get("/student/signup").get_data(as_text=True)
    assert page.count('name="markets"') == 1
    assert re.search(r'<select multiple name="markets" id="markets"', page)
    assert page.count("<option value=") > 249
