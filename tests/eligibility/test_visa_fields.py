"""The fields the visa rules need: rules, forms (en and ko), profile pages, CSV, demo data."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from flask import current_app
from hypothesis import given
from hypothesis import strategies as st
from kexport_support import profile_form, sme_data, sme_form, student_data, student_form
from sqlalchemy import select

from app import schemas, taxonomy
from app.extensions import db
from app.models import SME, Student
from app.services import demo, exports, imports
from app.services.errors import InvalidInput
from app.services.validation import validate

# --- the rules ---------------------------------------------------------------------------------


def test_student_fields_are_normalised():
    form = validate(
        schemas.StudentProfileIn,
        student_data(
            degree_level=" Bachelor ",
            year_of_study="3",
            expected_graduation="2027-02",
            in_korea_since="2024-03-15",
        ),
    )
    assert (form.degree_level, form.year_of_study) == ("bachelor", 3)
    assert form.expected_graduation == date(2027, 2, 1)
    assert form.in_korea_since == date(2024, 3, 1)  # a month: any day of it means the month


def test_the_new_fields_are_optional_and_blank_means_not_stated():
    form = validate(
        schemas.StudentProfileIn,
        student_data(degree_level="", year_of_study="", expected_graduation="", in_korea_since=""),
    )
    assert form.degree_level is None and form.year_of_study is None
    assert form.expected_graduation is None and form.in_korea_since is None
    sme = validate(schemas.SMEProfileIn, sme_data(ksic_section="", period_start=""))
    assert sme.ksic_section is None and sme.hours_needed == 0 and sme.period_start is None


@pytest.mark.parametrize(
    ("overrides", "field", "error"),
    [
        ({"degree_level": "phd"}, "degree_level", "unknown_code"),
        ({"year_of_study": 0}, "year_of_study", "greater_than_equal"),
        ({"year_of_study": 11}, "year_of_study", "less_than_equal"),
        ({"expected_graduation": "2027-13"}, "expected_graduation", "year_month"),
        ({"expected_graduation": "Feb 2027"}, "expected_graduation", "year_month"),
        ({"in_korea_since": "2099-01"}, "in_korea_since", "month_in_future"),
    ],
)
def test_bad_student_fields_are_named(overrides, field, error):
    with pytest.raises(InvalidInput) as caught:
        validate(schemas.StudentProfileIn, student_data(**overrides))
    assert [e["type"] for e in caught.value.fields[field]] == [error]


@pytest.mark.parametrize(
    ("overrides", "field", "error"),
    [
        ({"ksic_section": "Z"}, "ksic_section", "unknown_code"),
        ({"hours_needed": 53}, "hours_needed", "less_than_equal"),
        ({"hours_needed": -1}, "hours_needed", "greater_than_equal"),
        ({"period_start": "2027-06-01", "period_end": "2027-01-31"}, "__root__", "period_order"),
        ({"period_end": "31/01/2027"}, "period_end", "date_from_datetime_parsing"),
    ],
)
def test_bad_sme_fields_are_named(overrides, field, error):
    with pytest.raises(InvalidInput) as caught:
        validate(schemas.SMEProfileIn, sme_data(**overrides))
    assert [e["type"] for e in caught.value.fields[field]] == [error]


def test_ksic_section_accepts_the_letter_in_either_case():
    assert validate(schemas.SMEProfileIn, sme_data(ksic_section=" c ")).ksic_section == "C"


@given(st.one_of(st.text(max_size=12), st.integers(), st.none(), st.dates()))
def test_a_month_is_a_first_of_month_or_a_named_error(value):
    fields: dict = {}
    month = None
    try:
        month = validate(
            schemas.StudentProfileIn, student_data(expected_graduation=value)
        ).expected_graduation
    except InvalidInput as error:
        fields = error.fields
    if fields:
        assert [e["type"] for e in fields.pop("expected_graduation")] == ["year_month"]
        assert fields == {}
    else:
        assert month is None or (month.day == 1 and 1990 <= month.year <= 2100)


# --- forms and pages, in both languages --------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_signup_forms_ask_for_the_visa_fields(client, locale):
    client.post("/language", data={"locale": locale})
    student_page = client.get("/student/signup").get_data(as_text=True)
    sme_page = client.get("/sme/signup").get_data(as_text=True)
    degree = taxonomy.name("degree_levels", "doctorate", locale)
    manufacturing = taxonomy.name("ksic_sections", "C", locale)
    assert degree in student_page and 'type="month"' in student_page
    assert 'name="in_korea_since"' in student_page and 'name="year_of_study"' in student_page
    assert manufacturing in sme_page and 'name="hours_needed"' in sme_page
    assert 'name="period_end"' in sme_page
    if locale == "ko":
        assert "학위 과정" in student_page and "산업 대분류" in sme_page
    else:
        assert "Programme of study" in student_page and "Industry section (KSIC)" in sme_page


def test_student_signs_up_and_edits_the_visa_fields(client, login_as):
    response = client.post(
        "/student/signup",
        data=student_form(
            degree_level="master",
            year_of_study="1",
            expected_graduation="2028-02",
            in_korea_since="2025-03",
        ),
    )
    assert response.status_code == 302, response.data[:2000]
    student = db.session.scalar(select(Student))
    assert (student.degree_level, student.year_of_study) == ("master", 1)
    assert (student.expected_graduation, student.in_korea_since) == (
        date(2028, 2, 1),
        date(2025, 3, 1),
    )
    page = client.get("/student/profile/edit").get_data(as_text=True)
    assert 'value="2028-02"' in page and 'value="2025-03"' in page
    response = client.post(
        "/student/profile/edit",
        data=profile_form(student_form(degree_level="bachelor", year_of_study="13")),
    )
    assert response.status_code == 422
    assert "at most 10" in response.get_data(as_text=True)
    db.session.refresh(student)
    assert student.degree_level == "master"  # nothing half-written
    months = {"expected_graduation": "2028-02", "in_korea_since": "2025-03"}
    client.post(
        "/student/profile/edit",
        data=profile_form(student_form(degree_level="bachelor", year_of_study="4", **months)),
    )
    db.session.refresh(student)
    assert (student.degree_level, student.year_of_study) == ("bachelor", 4)
    client.post("/language", data={"locale": "ko"})
    profile = client.get("/student/profile").get_data(as_text=True)
    assert "학사 · 4학년" in profile and "2028년 2월" in profile and "2025년 3월" in profile


def test_sme_signs_up_with_section_hours_and_period(client):
    response = client.post(
        "/sme/signup",
        data=sme_form(
            ksic_section="C", hours_needed="20", period_start="2027-01-04", period_end="2027-06-30"
        ),
    )
    assert response.status_code == 302, response.data[:2000]
    sme = db.session.scalar(select(SME))
    assert (sme.ksic_section, sme.hours_needed) == ("C", 20)
    assert (sme.period_start, sme.period_end) == (date(2027, 1, 4), date(2027, 6, 30))
    profile = client.get("/sme/profile").get_data(as_text=True)
    assert "C. Manufacturing" in profile and "20" in profile
    bad = client.post(
        "/sme/profile/edit",
        data=profile_form(sme_form(period_start="2027-06-01", period_end="2027-01-01")),
    )
    assert bad.status_code == 422
    assert "The period must end after it starts." in bad.get_data(as_text=True)


def test_coordinator_sees_the_fields_on_profiles(client, login_as, coordinator, make_student):
    user = make_student(degree_level="language", in_korea_since="2026-06", visa="d4")
    login_as(coordinator)
    page = client.get(f"/coordinator/students/{user.student.id}").get_data(as_text=True)
    assert "Korean language programme" in page and "Jun 2026" in page


# --- CSV ---------------------------------------------------------------------------------------


def _rows(kind: str) -> list[dict[str, str]]:
    with current_app.test_request_context():  # the header names are in the reader's language
        content, _count = exports.csv_bytes(kind)
    lines = io.StringIO(content.decode("utf-8-sig"))
    lines.readline()  # the column names in the reader's language; the codes come next
    return list(csv.DictReader(lines))


def test_csv_exports_carry_the_fields(make_student, make_sme):
    make_student(degree_level="bachelor", year_of_study=2, expected_graduation="2028-08")
    make_sme(ksic_section="c", hours_needed=15, period_start="2027-01-01")
    [student] = _rows("students")
    assert (student["degree_level"], student["year_of_study"]) == ("bachelor", "2")
    assert (student["expected_graduation"], student["in_korea_since"]) == ("2028-08", "")
    [sme] = _rows("smes")
    assert (sme["ksic_section"], sme["hours_needed"]) == ("C", "15")
    assert (sme["period_start"], sme["period_end"]) == ("2027-01-01", "")


IMPORT_HEADER = (
    "email,contact_name,company_name,business_number,industries,products,markets,region,"
    "capacity,ksic_section,hours_needed,period_start,period_end"
)


def test_csv_import_reads_the_fields_and_names_bad_cells(app, coordinator):
    good = (
        f"{IMPORT_HEADER}\n"
        "a@example.kr,김민준,한빛,220-81-62517,cosmetics,선크림,VN,gyeonggi,2,C,20,2027-01-01,"
        "2027-06-30\n"
        "b@example.kr,이서연,별빛,124-81-00998,software_it,앱,JP,seoul,1,,,,\n"
    )
    created = imports.import_smes(good.encode(), coordinator, consent_confirmed=True)
    assert [(s.ksic_section, s.hours_needed, s.period_end) for s in created] == [
        ("C", 20, date(2027, 6, 30)),
        (None, 0, None),
    ]
    bad = f"{IMPORT_HEADER}\nc@example.kr,박,달빛,105-87-01233,metals,볼트,US,busan,1,Z,60,,\n"
    with app.test_request_context(), pytest.raises(imports.ImportRejected) as caught:
        imports.check(bad.encode())
    reasons = " ".join(caught.value.rows[0].reasons)
    assert "Industry section (KSIC)" in reasons and "Hours per week needed" in reasons


# --- demo data ---------------------------------------------------------------------------------


def test_demo_data_fill_the_fields_consistently(app):
    demo.seed(students=80, smes=40, seed=5)
    db.session.flush()
    students = db.session.scalars(select(Student)).all()
    for student in students:
        assert student.degree_level and student.in_korea_since
        if student.visa == "d4":
            assert student.degree_level == "language"
        if student.visa == "d2":
            assert student.degree_level != "language" and student.year_of_study >= 1
            assert student.expected_graduation.month in (2, 8)  # Korean graduation months
        if student.expected_graduation:
            assert student.in_korea_since < student.expected_graduation
    smes = db.session.scalars(select(SME)).all()
    sections = [sme.ksic_section for sme in smes]
    assert sections.count("C") > len(smes) / 2  # most programme SMEs are manufacturers
    assert set(sections) <= taxonomy.codes("ksic_sections")
    for sme in smes:
        assert 0 <= sme.hours_needed <= 52
        assert (sme.period_start is None) == (sme.period_end is None)
        assert sme.period_start is None or sme.period_start < sme.period_end


# --- the migration -----------------------------------------------------------------------------


def test_the_migration_steps_down_and_up(tmp_path):
    """The step down drops exactly the new columns; the step up brings them back, with
    `hours_needed` defaulting to 0 for rows that existed before (flexible, as the forms say)."""
    from alembic.script import ScriptDirectory
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    from app import create_app

    scratch = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'scratch.sqlite3'}",
            "UPLOAD_DIR": str(tmp_path / "uploads"),
        }
    )
    new = {
        "students": {"degree_level", "year_of_study", "expected_graduation", "in_korea_since"},
        "smes": {"ksic_section", "hours_needed", "period_start", "period_end"},
    }
    with scratch.app_context():
        config = scratch.extensions["migrate"].migrate.get_config()
        before = ScriptDirectory.from_config(config).get_revision(VISA_FIELDS_REVISION)
        upgrade()
        downgrade(revision=before.down_revision)
        for table, columns in new.items():
            have = {c["name"] for c in inspect(db.engine).get_columns(table)}
            assert not columns & have, table
        upgrade()
        for table, columns in new.items():
            have = {c["name"]: c for c in inspect(db.engine).get_columns(table)}
            assert columns <= set(have), table
        assert "0" in str(
            {c["name"]: c for c in inspect(db.engine).get_columns("smes")}["hours_needed"][
                "default"
            ]
        )
        db.session.remove()
        db.engine.dispose()


VISA_FIELDS_REVISION = "9d0158dfb849"
