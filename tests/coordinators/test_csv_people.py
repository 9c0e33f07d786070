"""CSV that people can use (issue 13, item 3): a template, names or codes on import, the valid
values in the error, headers in the reader's language over a row of codes, and a round trip."""

from __future__ import annotations

import csv
import io

import pytest
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app import taxonomy
from app.extensions import db
from app.models import SME, User
from app.services import accounts, codebook, exports, imports

KINDS = ("countries", "languages", "industries", "regions", "ksic_sections")


def _rows(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _upload(client, text: str):
    data = {"file": (io.BytesIO(text.encode("utf-8-sig")), "smes.csv"), "consent_confirmed": "y"}
    return client.post("/coordinator/smes/import", data=data, content_type="multipart/form-data")


@pytest.mark.parametrize(
    ("kind", "text", "code"),
    [
        ("industries", "가공식품", "processed_food"),
        ("industries", "Processed food and beverages", "processed_food"),
        ("countries", "베트남", "VN"),
        ("countries", "viet nam", "VN"),
        ("countries", "vn", "VN"),
        ("regions", "서울", "seoul"),
        ("regions", "서울특별시", "seoul"),
        ("regions", "충북", "chungbuk"),
        ("languages", "베트남어", "vi"),
        ("ksic_sections", "제조업", "C"),
    ],
)
def test_names_people_write_are_read_as_codes(kind, text, code):
    assert codebook.resolve(kind, text) == code


@given(data=st.data())
def test_every_code_and_name_reads_back_as_its_code(data):
    kind = data.draw(st.sampled_from(KINDS))
    term = data.draw(st.sampled_from(taxonomy.TABLES[kind]()))
    spelling = data.draw(st.sampled_from([term.code, term.name_en, term.name_ko]))
    spacing = data.draw(st.sampled_from(["", " ", "  "]))
    assert codebook.resolve(kind, spacing + spelling + spacing) == term.code
    assert codebook.resolve(kind, spelling.upper()) == term.code


def test_nonsense_is_not_read_as_a_code():
    assert codebook.resolve("countries", "Atlantis") is None
    assert codebook.resolve("industries", "") is None


KOREAN_LINE = (
    "ko1@import.example,박서연,한빛식품,{bn},가공식품,김치,베트남;Thailand,베트남어,서울,2,예"
)


def test_a_file_in_korean_words_imports(coord_client, bn):
    coord_client.post("/language", data={"locale": "ko"})
    template = _rows(coord_client.get("/coordinator/smes/import/template.csv"))
    names = dict(zip(template[1], template[0], strict=True))
    header = ",".join(
        names[c]
        for c in (
            "email", "contact_name", "company_name", "business_number", "industries",
            "products", "markets", "languages_needed", "region", "capacity", "exporting",
        )
    )  # fmt: skip
    body = header + "\n" + KOREAN_LINE.format(bn=bn(301)) + "\n"
    response = _upload(coord_client, body)
    assert response.status_code == 302, response.get_data(as_text=True)
    sme = db.session.scalar(select(SME))
    assert (sme.industries, sme.markets, sme.languages_needed, sme.region) == (
        ["processed_food"],
        ["TH", "VN"],
        ["vi"],
        "seoul",
    )
    assert sme.exporting is True


def test_the_error_lists_the_valid_values(coord_client, bn):
    header = (
        "email,contact_name,company_name,business_number,industries,products,markets,region,"
        "capacity\n"
    )
    line = f"x@import.example,Kim,Hanbit,{bn(302)},Kimchi,food,Atlantis,Seul,2\n"
    html = _upload(coord_client, header + line).get_data(as_text=True)
    assert "“Kimchi” is not in the list" in html
    assert "Processed food and beverages (processed_food)" in html  # every industry, named
    assert "Seoul (seoul)" in html and "Jeju (jeju)" in html  # every region
    assert "“Atlantis” is not in the list" in html and "VN, Vietnam, 베트남" in html
    assert "Choose a value from the list." not in html
    coord_client.post("/language", data={"locale": "ko"})
    html = _upload(coord_client, header + line).get_data(as_text=True)
    assert "가공식품·음료 (processed_food)" in html and "서울특별시 (seoul)" in html


def test_exports_name_columns_in_the_readers_language_over_the_codes(coord_client, programme):
    english = _rows(coord_client.get("/coordinator/export/smes.csv"))
    assert english[0][:4] == ["Id", "Email", "Contact person", "Company name"]
    assert english[1][:4] == ["id", "email", "contact_name", "company_name"]
    coord_client.post("/language", data={"locale": "ko"})
    for kind in exports.KINDS:
        names, codes, *rows = _rows(coord_client.get(f"/coordinator/export/{kind}.csv"))
        assert (
            codes
            == {
                "students": exports.STUDENT_COLUMNS,
                "smes": exports.SME_COLUMNS,
                "matches": exports.MATCH_COLUMNS,
            }[kind]
        )
        with force_locale("ko"):
            assert names == [str(exports.HEADERS[c]) for c in codes]
        assert all(any("\uac00" <= ch <= "\ud7a3" for ch in name) for name in names[1:3]), names
        assert rows


def test_the_template_has_the_same_two_rows(coord_client):
    response = coord_client.get("/coordinator/smes/import/template.csv")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    names, codes = _rows(response)
    assert codes[:4] == ["email", "contact_name", "company_name", "business_number"]
    assert names[:2] == ["Email", "Contact person"]


def test_an_export_imports_back_as_it_was(coord_client, make_sme, bn):
    """Round trip: what the SME export writes (in Korean, with a formula-like text defused) is
    what the import reads."""
    made = [
        make_sme(
            email="r1@sme.example",
            company_name="=한빛",
            business_number=bn(401),
            languages_needed=["vi", "th"],
            ksic_section="c",
            hours_needed=12,
            min_topik=3,
            period_start="2027-01-01",
            period_end="2027-06-30",
            description="-수출 준비",
        ),
        make_sme(email="r2@sme.example", business_number=bn(402), exporting=True),
    ]
    fields = (
        "contact_name", "company_name", "business_number", "industries", "products", "markets",
        "languages_needed", "region", "capacity", "exporting", "min_topik", "ksic_section",
        "hours_needed", "period_start", "period_end", "description",
    )  # fmt: skip
    before = {u.email: {f: getattr(u.sme, f) for f in fields} for u in made}
    coord_client.post("/language", data={"locale": "ko"})
    exported = coord_client.get("/coordinator/export/smes.csv").get_data().decode("utf-8-sig")
    for user in made:
        accounts.delete_account(db.session.get(User, user.id))
    db.session.commit()
    assert db.session.scalar(select(func.count(SME.id))) == 0
    response = _upload(coord_client, exported)
    assert response.status_code == 302, response.get_data(as_text=True)
    after = {
        s.user.email: {f: getattr(s, f) for f in fields} for s in db.session.scalars(select(SME))
    }
    assert after == before


CODED = ("industries", "markets", "languages_needed", "region", "ksic_section")


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60, deadline=None
)
@given(cells=st.lists(st.text(max_size=30), min_size=len(CODED), max_size=len(CODED)))
def test_any_text_in_a_coded_cell_is_read_or_refused_in_words(app, cells):
    """Whatever a person types in the coded columns: imported, or refused with a message naming
    the column; never an exception of another kind."""
    header = "email,contact_name,company_name,business_number,products,capacity," + ",".join(CODED)
    row = ["h@import.example", "Kim", "Hanbit", "220-81-62517", "food", "2", *cells]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header.split(","), row])
    with app.test_request_context():
        try:
            imports.check(buffer.getvalue().encode())
        except imports.ImportRejected as rejected:
            reasons = [r for line in rejected.rows for r in line.reasons] + rejected.problems
            assert reasons and all(isinstance(r, str) and r for r in reasons)
