"""Issue 13 item 4: an SME's name and products in Korean and/or English; each reader sees their
language, the other as a fallback, labelled and with its `lang` attribute; bios likewise."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import SME, Match
from app.services import cycles


@pytest.fixture
def korean_only(student, sme):
    """The reference SME wrote Korean only (한빛코스메틱); the student's bio is English."""
    cycles.run_cycle()
    return db.session.scalar(select(Match))


def _english(client):
    client.post("/language", data={"locale": "en"})


def test_english_reader_sees_the_korean_name_labelled(client, login_as, student, korean_only):
    login_as(student)
    _english(client)
    page = client.get("/student/proposals").get_data(as_text=True)
    assert re.search(
        r'<span lang="ko">한빛코스메틱 <small[^>]*>\(written in Korean\)</small>', page
    )


def test_each_reader_gets_their_language_when_both_exist(
    client, login_as, student, sme, korean_only
):
    company = sme.sme
    company.company_name_en, company.products_en = "Hanbit Cosmetics", "Sunscreen, sheet masks"
    company.description_en = "Getting ready for Vietnam."
    db.session.commit()
    login_as(student)
    _english(client)
    page = client.get("/student/proposals").get_data(as_text=True)
    assert '<span lang="en">Hanbit Cosmetics</span>' in page
    assert "Sunscreen, sheet masks" in page and "한빛코스메틱" not in page
    assert "written in" not in page
    client.post("/language", data={"locale": "ko"})
    page = client.get("/student/proposals").get_data(as_text=True)
    assert '<span lang="ko">한빛코스메틱</span>' in page and "Hanbit Cosmetics" not in page


def test_korean_sme_sees_an_english_bio_labelled(client, login_as, sme, korean_only):
    login_as(sme)
    client.post("/language", data={"locale": "ko"})
    page = client.get("/sme/candidates").get_data(as_text=True)
    assert re.search(r'<p lang="en" class="[^"]*bio[^"]*">I want to help', page)
    assert "(영어로 작성됨)" in page


def test_sme_signs_up_in_english_only_and_edits_in_both(client, app):
    from kexport_support import sme_form

    form = sme_form(company_name="Glow Lab", products="Sunscreen")
    assert form["company_name_en"] == "Glow Lab" and "company_name_ko" not in form
    assert client.post("/sme/signup", data=form).status_code == 302
    company = db.session.scalar(select(SME))
    assert (company.company_name_en, company.company_name_ko) == ("Glow Lab", None)
    page = client.get("/sme/profile/edit").get_data(as_text=True)
    assert 'lang="ko"' in page and 'value="Glow Lab"' in page
    form = {k: v for k, v in sme_form(company_name="글로우랩", products="Sunscreen").items()}
    for key in ("email", "password", "business_number", "consent_collection", "consent_provision"):
        form.pop(key, None)
    form["company_name_en"] = "Glow Lab"
    assert client.post("/sme/profile/edit", data=form).status_code == 302
    db.session.expire_all()
    company = db.session.scalar(select(SME))
    assert (company.company_name_ko, company.company_name_en) == ("글로우랩", "Glow Lab")


def test_neither_language_is_refused_on_the_form_keeping_the_rest(client):
    from kexport_support import sme_form

    form = sme_form(company_name=None, contact_name="김민준")
    response = client.post("/sme/signup", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Write this in Korean or in English (at least one of the two)." in page
    assert 'value="김민준"' in page
    assert db.session.scalar(select(SME)) is None


def test_api_takes_and_gives_both_languages(client):
    from kexport_support import sme_data

    body = sme_data(company_name=None, company_name_en="Glow Lab", company_name_ko="글로우랩")
    assert client.post("/api/v1/smes", json=body).status_code == 201
    token = client.post(
        "/api/v1/tokens", json={"email": body["email"], "password": body["password"]}
    ).get_json()["token"]
    me = client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    ).get_json()["sme"]
    assert (me["company_name_en"], me["company_name_ko"]) == ("Glow Lab", "글로우랩")
    assert me["company_name"] == "Glow Lab"
    assert me["products_ko"] == "선크림, 마스크팩" and me["products_en"] is None
    assert me["products"] == "선크림, 마스크팩"  # the fallback
    refused = client.post(
        "/api/v1/smes",
        json=sme_data(email="b@example.org", business_number="124-81-00998", company_name=None),
    )
    assert refused.status_code == 422
    assert "company_name_en" in refused.get_json()["error"]["fields"]
    schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert "company_name_ko" in schema["SMESignup"]["properties"]


def test_csv_import_reads_the_language_columns(app, coordinator):
    from app.services import exports, imports

    content = (
        "email,contact_name,company_name_ko,company_name_en,business_number,industries,"
        "products_en,markets,region,capacity\n"
        "a@sme.example,김,,Glow Lab,220-81-62517,cosmetics,Sunscreen,VN,seoul,1\n"
    ).encode()
    [company] = imports.import_smes(content, coordinator, consent_confirmed=True)
    db.session.commit()
    assert (company.company_name_ko, company.company_name_en) == (None, "Glow Lab")
    assert company.products_en == "Sunscreen"
    import csv
    import io

    with app.test_request_context():
        data, _ = exports.csv_bytes("smes")
    # Two header rows: the names in the reader's language, then the codes.
    names, header, *rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert names[header.index("company_name_en")] == "Company name in English"
    for column in ("company_name_ko", "company_name_en", "products_ko", "products_en"):
        assert column in header
    assert rows[0][header.index("company_name_en")] == "Glow Lab"
    assert rows[0][header.index("company_name_ko")] == ""
