"""The dashboard's figures on a known small programme, CSV out and in, the audit log, and who
may open the coordinators' pages."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import SME, AuditEvent, Consent, Match, MatchStatus, User
from app.services import decisions, stats

PAGES = [
    "/coordinator/",
    "/coordinator/stats.json",
    "/coordinator/matches",
    "/coordinator/pair",
    "/coordinator/cycles",
    "/coordinator/settings",
    "/coordinator/audit",
    "/coordinator/smes/import",
    "/coordinator/export/students.csv",
    "/coordinator/export/smes.csv",
    "/coordinator/export/matches.csv",
]


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_every_page_renders_for_a_coordinator_and_is_403_for_others(
    coord_client, other_clients, programme
):
    match_page = f"/coordinator/matches/{programme['matches'][0].id}"
    for url in [*PAGES, match_page]:
        assert coord_client.get(url).status_code == 200, url
        for role, other in other_clients.items():
            assert other.get(url).status_code == 403, (role, url)
    for url in ["/coordinator/matches/bulk", "/coordinator/cycles/run", "/coordinator/pair"]:
        for other in other_clients.values():
            assert other.post(url, data={}).status_code == 403, url


def test_programme_figures_on_a_known_dataset(coord_client, programme, coordinator):
    first, second, third = programme["matches"]
    for user in (first.student.user, first.sme.user):
        decisions.decide(first.id, user, "accept")
    decisions.approve(first.id, coordinator)
    decisions.decide(second.id, second.student.user, "decline", reason="schedule")
    db.session.commit()
    figures = stats.programme()
    assert (figures.students, figures.smes, figures.placed, figures.target) == (3, 2, 1, 1000)
    assert figures.progress == pytest.approx(0.001)
    assert figures.by_status["approved"] == 1 and figures.by_status["declined"] == 1
    assert figures.by_status["proposed"] == 1
    rates = figures.rates
    assert (rates.student_answers, rates.student_accepts) == (2, 1)
    assert (rates.sme_answers, rates.sme_accepts) == (1, 1)
    assert (rates.decided, rates.approved) == (1, 1)
    assert rates.student == pytest.approx(0.5)
    [cycle] = figures.cycles
    assert (cycle.new_students, cycle.new_smes, cycle.pool, cycle.proposed) == (3, 2, 3, 3)
    assert (cycle.matched, cycle.pending, cycle.declined, cycle.expired) == (1, 1, 1, 0)
    markets = {r.code: r for r in figures.markets}
    assert (markets["VN"].students, markets["VN"].smes) == (2, 2)
    assert (markets["TH"].students, markets["TH"].smes) == (1, 2)
    assert markets["VN"].placed + markets["TH"].placed == 1
    nationalities = {r.code: (r.students, r.placed) for r in figures.nationalities}
    assert nationalities["VN"][0] == 2 and nationalities["TH"] == (1, 0)
    regions = {r.code: (r.students, r.smes) for r in figures.regions}
    assert regions["gyeonggi"] == (3, 1) and regions["busan"] == (0, 1)
    industries = {r.code: (r.students, r.smes) for r in figures.industries}
    assert industries["cosmetics"] == (3, 1) and industries["processed_food"] == (0, 1)
    # The same figures as JSON for the charts, and in the page with its chart canvases.
    data = coord_client.get("/coordinator/stats.json").get_json()
    assert data["placed"] == 1 and data["cycles"][0]["matched"] == 1
    html = coord_client.get("/coordinator/").get_data(as_text=True)
    assert 'data-chart="cycles"' in html and 'id="stats-data"' in html
    assert "charts.js" in html and "vendor/chart.umd.min.js" in html
    embedded = html.split('id="stats-data">')[1].split("</script>")[0]
    assert json.loads(embedded)["stats"]["students"] == 3


def test_dashboard_with_no_data(coord_client):
    html = coord_client.get("/coordinator/").get_data(as_text=True)
    assert "No cycle has run yet." in html


def _rows(response):
    """The rows after the header of names in the reader's language: the codes, then the data."""
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs
    _names, *rows = csv.reader(io.StringIO(body.decode("utf-8-sig")))
    return rows


def test_csv_exports(coord_client, programme):
    r = coord_client.get("/coordinator/export/smes.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    header, *rows = _rows(r)
    assert header[:5] == ["id", "email", "contact_name", "company_name", "business_number"]
    assert len(rows) == 2
    assert {row[3] for row in rows} == {"가나화장품", "다라식품"}  # Korean intact
    assert rows[0][header.index("markets")] == "TH;VN"
    header, *rows = _rows(coord_client.get("/coordinator/export/students.csv"))
    assert len(rows) == 3 and header[3] == "nationality"
    assert "vi:native;en:business" in {row[4] for row in rows}
    header, *rows = _rows(coord_client.get("/coordinator/export/matches.csv"))
    assert len(rows) == 3 and {row[header.index("status")] for row in rows} == {"proposed"}
    exports = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "csv_exported").order_by(AuditEvent.id)
    ).all()
    assert [e.detail["kind"] for e in exports] == ["smes", "students", "matches"]
    assert coord_client.get("/coordinator/export/users.csv").status_code == 404


def test_csv_export_defuses_formulas(coord_client, make_sme, bn):
    make_sme(email="f@sme.example", company_name="=HYPERLINK(1)", business_number=bn(21))
    header, row = _rows(coord_client.get("/coordinator/export/smes.csv"))
    assert row[3] == "'=HYPERLINK(1)"


IMPORT_HEADER = (
    "email,contact_name,company_name,business_number,industries,products,markets,"
    "languages_needed,region,capacity,exporting,description\n"
)


def _import_line(n, bn, **over):
    cells = {
        "email": f"co{n}@import.example",
        "contact_name": "박서연",
        "company_name": f"수출{n}상사",
        "business_number": bn(100 + n),
        "industries": "cosmetics",
        "products": "마스크팩",
        "markets": "VN;TH",
        "languages_needed": "vi|en",
        "region": "seoul",
        "capacity": "2",
        "exporting": "no",
        "description": "베트남 진출 준비",
    }
    cells.update(over)
    return ",".join(cells.values()) + "\n"


def _upload(client, text, confirm=True):
    data = {"file": (io.BytesIO(text.encode("utf-8-sig")), "smes.csv")}
    if confirm:
        data["consent_confirmed"] = "y"
    return client.post("/coordinator/smes/import", data=data, content_type="multipart/form-data")


def test_csv_import_all_good(coord_client, bn, coordinator):
    text = IMPORT_HEADER + "".join(_import_line(n, bn) for n in range(1, 4))
    r = _upload(coord_client, text)
    assert r.status_code == 302, r.get_data(as_text=True)
    smes = db.session.scalars(select(SME).order_by(SME.id)).all()
    assert [s.company_name for s in smes] == ["수출1상사", "수출2상사", "수출3상사"]
    assert smes[0].markets == ["TH", "VN"] and smes[0].languages_needed == ["en", "vi"]
    assert _count(Consent) == 3
    imported = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "sme_imported")
    ).all()
    assert len(imported) == 3 and all(e.actor_id == coordinator.id for e in imported)
    user = db.session.scalar(select(User).where(User.email == "co1@import.example"))
    assert user.role == "sme"
    login = coord_client.application.test_client().post(
        "/login", data={"email": "co1@import.example", "password": ""}
    )
    assert login.status_code != 302  # nobody knows the password


def test_csv_import_one_bad_row_imports_nothing(coord_client, bn):
    bad = bn(102)[:-1] + str((int(bn(102)[-1]) + 1) % 10)  # wrong check digit
    text = (
        IMPORT_HEADER
        + _import_line(1, bn)
        + _import_line(2, bn, business_number=bad)  # line 3
        + _import_line(3, bn, email="co1@import.example")  # line 4: same email as line 2
    )
    r = _upload(coord_client, text)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert '<th scope="row">3</th>' in html
    assert "its check digit is wrong" in html
    assert '<th scope="row">4</th>' in html and "the same as line 2" in html
    assert "no company was imported" in html
    assert _count(SME) == 0 and _count(User) == 1  # the coordinator only


def test_csv_import_refuses_duplicates_of_existing_and_bad_files(coord_client, sme, bn):
    text = IMPORT_HEADER + _import_line(1, bn, email=sme.email) + _import_line(2, bn)
    r = _upload(coord_client, text)
    assert r.status_code == 422 and "already exists" in r.get_data(as_text=True)
    r = _upload(coord_client, IMPORT_HEADER + _import_line(1, bn), confirm=False)
    assert r.status_code == 422 and "Confirm that the companies agreed" in r.get_data(as_text=True)
    r = _upload(coord_client, "name,company\nx,y\n")
    assert r.status_code == 422 and "Missing: Email" in r.get_data(as_text=True)
    r = coord_client.post(
        "/coordinator/smes/import",
        data={"file": (io.BytesIO("이메일".encode("cp949")), "x.csv"), "consent_confirmed": "y"},
        content_type="multipart/form-data",
    )
    assert r.status_code == 422 and "UTF-8" in r.get_data(as_text=True)
    r = coord_client.post("/coordinator/smes/import", data={"consent_confirmed": "y"})
    assert r.status_code == 422
    assert _count(SME) == 1


def test_audit_log_filters(coord_client, programme, coordinator):
    match = programme["matches"][0]
    coord_client.post(
        f"/coordinator/matches/{match.id}", data={"action": "reject", "reason": "dup"}
    )
    html = coord_client.get("/coordinator/audit?action=match_rejected").get_data(as_text=True)
    rows = html.split("<tbody>")[1]
    assert f"{match.student.name} and {match.sme.company_name}" in rows
    assert "Signed up" not in rows
    html = coord_client.get(
        f"/coordinator/audit?target_type=match&target_id={match.id}&actor_id={coordinator.id}"
    ).get_data(as_text=True)
    assert "Not approved by a coordinator" in html.split("<tbody>")[1]
    html = coord_client.get("/coordinator/audit?date_from=2000-01-01&date_to=2000-01-02").get_data(
        as_text=True
    )
    assert "Nothing recorded matches these filters." in html
    html = coord_client.get("/coordinator/audit?date_from=2000-01-01&date_to=9999-12-31").get_data(
        as_text=True
    )
    assert "Not approved by a coordinator" in html
    r = coord_client.get("/coordinator/audit?date_from=yesterday&actor_id=x")
    assert r.status_code == 400
    assert "Enter a date as YYYY-MM-DD." in r.get_data(as_text=True)
    assert "Enter a whole number." in r.get_data(as_text=True)


def test_audit_log_is_newest_first_and_paginated(coord_client, coordinator):
    for n in range(60):
        db.session.add(AuditEvent(action="test_event", actor_id=coordinator.id, detail={"n": n}))
    db.session.commit()
    html = coord_client.get("/coordinator/audit?action=test_event").get_data(as_text=True)
    assert html.index("n: 59") < html.index("n: 58")
    assert "n: 9<" not in html and 'href="/coordinator/audit?page=2' in html.replace("&amp;", "&")
    page2 = coord_client.get("/coordinator/audit?action=test_event&page=2").get_data(as_text=True)
    assert "n: 9<" in page2


def test_matches_statuses_in_words(coord_client, programme):
    db.session.get(Match, programme["matches"][0].id).status = MatchStatus.EXPIRED
    db.session.commit()
    html = coord_client.get("/coordinator/matches?status=expired").get_data(as_text=True)
    assert "Expired" in html
