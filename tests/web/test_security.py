"""CSRF, security headers, error pages, output escaping and uploads (SECURITY.md 10-15)."""

from __future__ import annotations

import io
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from kexport_support import PASSWORD, csrf_token_from, sme_form, student_form
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import User

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
MB = 1024 * 1024


def users() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0


# --- CSRF -----------------------------------------------------------------------------------------


@pytest.fixture
def csrf(app: Flask) -> Iterator[None]:
    """CSRF protection as in production (the test configuration turns it off)."""
    before = app.config["WTF_CSRF_ENABLED"]
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = before


def token(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return csrf_token_from(response.get_data(as_text=True))


def login(client: FlaskClient, user: User) -> None:
    response = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token(client, "/login")},
    )
    assert response.status_code == 302


def test_csrf_is_really_on_in_this_module(app: Flask, csrf: None, client: FlaskClient) -> None:
    assert app.config["WTF_CSRF_ENABLED"] is True
    assert 'name="csrf_token"' in client.get("/login").get_data(as_text=True)


def test_login_needs_the_token(csrf: None, client: FlaskClient, student: User) -> None:
    data = {"email": student.email, "password": PASSWORD}
    response = client.post("/login", data=data)
    assert response.status_code == 400
    assert client.get("/student/").status_code == 302  # not logged in
    assert client.post("/login", data={**data, "csrf_token": "forged"}).status_code == 400
    response = client.post("/login", data={**data, "csrf_token": token(client, "/login")})
    assert response.status_code == 302
    assert client.get("/student/").status_code == 200


@pytest.mark.parametrize(
    ("path", "form"), [("/student/signup", student_form), ("/sme/signup", sme_form)]
)
def test_sign_up_needs_the_token(csrf: None, client: FlaskClient, path: str, form: Any) -> None:
    assert client.post(path, data=form()).status_code == 400
    assert users() == 0
    response = client.post(path, data={**form(), "csrf_token": token(client, path)})
    assert response.status_code == 302, response.data[:3000]
    assert users() == 1


def test_logout_needs_the_token(csrf: None, client: FlaskClient, student: User) -> None:
    login(client, student)
    assert client.post("/logout").status_code == 400
    assert client.get("/student/").status_code == 200  # still logged in
    response = client.post("/logout", data={"csrf_token": token(client, "/student/")})
    assert response.status_code == 302
    assert client.get("/student/").status_code == 302


def test_language_switch_needs_the_token(csrf: None, client: FlaskClient) -> None:
    assert client.post("/language", data={"locale": "ko"}).status_code == 400
    with client.session_transaction() as session:
        assert "locale" not in session
    response = client.post("/language", data={"locale": "ko", "csrf_token": token(client, "/")})
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert session["locale"] == "ko"


def test_a_token_from_another_session_is_refused(
    app: Flask, csrf: None, client: FlaskClient, student: User
) -> None:
    attacker = app.test_client()
    stolen = token(attacker, "/login")
    data = {"email": student.email, "password": PASSWORD, "csrf_token": stolen}
    token(client, "/login")  # the victim has a session of its own
    assert client.post("/login", data=data).status_code == 400


def test_every_state_changing_request_needs_the_token(
    app: Flask, csrf: None, client: FlaskClient, student: User
) -> None:
    login(client, student)
    posts = [
        rule
        for rule in app.url_map.iter_rules()
        if ({"POST", "PUT", "PATCH", "DELETE"} & set(rule.methods or ()))
        and not rule.rule.startswith("/api/")  # the JSON API authenticates with bearer tokens
        and "<" not in rule.rule
    ]
    assert len(posts) >= 10
    for rule in posts:
        response = client.post(rule.rule, data={"confirm": "y", "consent_provision": "y"})
        assert response.status_code == 400, (rule.rule, response.status_code)
    # Nothing happened: the account is there, logged in, with its consent unchanged.
    db.session.expire_all()
    assert users() == 1
    assert client.get("/student/").status_code == 200


def test_account_deletion_without_the_token_deletes_nothing(
    csrf: None, client: FlaskClient, student: User
) -> None:
    login(client, student)
    assert client.post("/account/delete", data={"confirm": "y"}).status_code == 400
    assert users() == 1
    response = client.post(
        "/account/delete", data={"confirm": "y", "csrf_token": token(client, "/account")}
    )
    assert response.status_code == 302
    assert users() == 0


def test_csrf_error_page_is_generic(csrf: None, client: FlaskClient) -> None:
    response = client.post("/login", data={"email": "a@b.org", "password": "x"})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "CSRFError" not in text
    assert "expired" in text.lower()


# --- headers --------------------------------------------------------------------------------------


def check_headers(response: Any, where: str) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", (where, csp)
    assert "default-src" in directives, (where, csp)
    for directive in ("script-src", "default-src"):
        assert "'unsafe-inline'" not in directives.get(directive, ""), (where, csp)
        assert "'unsafe-eval'" not in directives.get(directive, ""), (where, csp)
    assert directives.get("object-src") == "object-src 'none'", (where, csp)
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") in (
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
        "no-referrer",
    ), where
    assert headers.get("X-Frame-Options") == "DENY", where


def test_security_headers_on_every_kind_of_response(
    client: FlaskClient, student: User, coordinator: User, login_as: Any
) -> None:
    responses = {
        "home": client.get("/"),
        "privacy": client.get("/privacy"),
        "login page": client.get("/login"),
        "failed login": client.post("/login", data={"email": "x@y.org", "password": "nope"}),
        "redirect to login": client.get("/student/"),
        "404": client.get("/no/such/page"),
        "405": client.get("/logout"),
        "health check": client.get("/healthz"),
        "static file": client.get("/static/app.css"),
        "sign-up refused": client.post("/student/signup", data={"name": "x"}),
    }
    login_as(student)
    responses.update(
        {
            "403": client.get("/coordinator/"),
            "profile": client.get("/student/profile"),
            "account": client.get("/account"),
            "my data": client.get("/account/data.json"),
        }
    )
    for where, response in responses.items():
        check_headers(response, where)
        if where != "static file":
            assert "no-store" in response.headers.get("Cache-Control", ""), where
    assert responses["static file"].status_code == 200
    assert "no-store" not in responses["static file"].headers.get("Cache-Control", "")


def test_pages_with_personal_data_are_never_cached(
    client: FlaskClient, student: User, coordinator: User, login_as: Any
) -> None:
    login_as(coordinator)
    student_id = student.student.id
    for path in (
        "/coordinator/",
        "/coordinator/students",
        f"/coordinator/students/{student_id}",
        "/coordinator/smes",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response.headers["Cache-Control"], path
        check_headers(response, path)


def test_no_inline_scripts_or_styles_that_the_policy_would_block(client: FlaskClient) -> None:
    for path in ("/", "/login", "/student/signup", "/sme/signup", "/privacy"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+=", html), path  # no onclick= and friends


# --- errors ---------------------------------------------------------------------------------------


@pytest.fixture
def failing_app(tmp_path: Path) -> Iterator[Flask]:
    """A test-only application with routes that raise, serving errors as production does."""
    app = create_app(
        {
            "TESTING": True,
            "PROPAGATE_EXCEPTIONS": False,  # production: the 500 handler answers, not the test
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'errors.sqlite3'}",
            "UPLOAD_DIR": str(tmp_path / "uploads"),
        }
    )

    @app.route("/boom")
    def boom() -> str:
        raise RuntimeError("secret detail: password=hunter2 in /srv/app/internal.py")

    @app.route("/api/v1/boom")
    def api_boom() -> str:
        raise KeyError("secret_api_detail")

    yield app
    with app.app_context():
        db.engine.dispose()


def test_500_page_is_generic(failing_app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    response = failing_app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    for leak in ("Traceback", "RuntimeError", "hunter2", "internal.py", "secret detail", 'File "'):
        assert leak not in text, leak
    assert "Something went wrong" in text
    check_headers(response, "500")
    # The details go to the log, for the operators.
    assert any("/boom" in record.getMessage() for record in caplog.records)


def test_500_from_the_api_is_json_and_generic(failing_app: Flask) -> None:
    response = failing_app.test_client().get("/api/v1/boom")
    assert response.status_code == 500
    assert response.is_json
    assert response.json["error"]["code"] == "internal_error"
    assert "secret_api_detail" not in response.get_data(as_text=True)


def test_debug_is_off_outside_development(failing_app: Flask) -> None:
    assert failing_app.debug is False


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("get", "/no/such/page", 404), ("get", "/logout", 405), ("post", "/privacy", 405)],
)
def test_other_error_pages_are_generic(
    client: FlaskClient, method: str, path: str, status: int
) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == status
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "werkzeug" not in text.lower()
    assert "<nav" in text  # the site's own page, not a bare server message


# --- output escaping ------------------------------------------------------------------------------

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_user_text_is_escaped_everywhere_it_is_shown(
    client: FlaskClient, make_student: Any, coordinator: User, login_as: Any
) -> None:
    user = make_student(name=XSS, university=XSS, bio=XSS)
    login_as(user)
    pages = ["/student/", "/student/profile", "/student/profile/edit", "/account"]
    texts = [client.get(path).get_data(as_text=True) for path in pages]
    client.post("/logout")
    login_as(coordinator)
    texts += [
        client.get(path).get_data(as_text=True)
        for path in ("/coordinator/students", f"/coordinator/students/{user.student.id}")
    ]
    assert any("&lt;script&gt;" in text for text in texts)
    for path, text in zip(pages + ["students", "student"], texts, strict=True):
        assert "<script>alert" not in text, path
        assert "<img src=x" not in text, path


def test_a_refused_form_echoes_input_escaped(client: FlaskClient) -> None:
    response = client.post("/student/signup", data=student_form(name=XSS, hours_per_week="0"))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "<script>alert" not in text and "&lt;script&gt;" in text


# --- uploads --------------------------------------------------------------------------------------


def upload(
    client: FlaskClient, data: bytes, name: str = "cv.pdf", mimetype: str = "application/pdf"
) -> Any:
    return client.post(
        "/student/cv",
        data={"cv": (io.BytesIO(data), name, mimetype)},
        content_type="multipart/form-data",
    )


def stored_files(app: Flask) -> list[Path]:
    return sorted(Path(app.config["UPLOAD_DIR"]).iterdir())


def cv_name(user: User) -> str | None:
    db.session.expire_all()
    return user.student.cv_stored_name


@pytest.fixture
def uploader(client: FlaskClient, student: User, login_as: Any) -> FlaskClient:
    login_as(student)
    return client


def test_a_valid_pdf_is_stored_under_a_random_name_outside_static(
    app: Flask, uploader: FlaskClient, student: User
) -> None:
    response = upload(uploader, PDF, name="../../app/static/Linh CV.pdf")
    assert response.status_code == 302
    files = stored_files(app)
    assert len(files) == 1
    path = files[0]
    assert re.fullmatch(r"[0-9a-f]{32}\.pdf", path.name)
    assert path.read_bytes() == PDF
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cv_name(student) == path.stem
    static = Path(app.static_folder).resolve()
    assert static not in path.resolve().parents
    assert not any("Linh" in p.name for p in static.rglob("*"))


def test_the_cv_is_served_as_an_attachment(uploader: FlaskClient, student: User) -> None:
    upload(uploader, PDF)
    response = uploader.get("/student/cv")
    assert response.status_code == 200
    assert response.data == PDF
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert 'filename="Nguyen Thi Linh - CV.pdf"' in disposition  # named after the student
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]


def test_replacing_the_cv_deletes_the_old_file(
    app: Flask, uploader: FlaskClient, student: User
) -> None:
    upload(uploader, PDF)
    first = stored_files(app)
    upload(uploader, PDF + b"% second version\n")
    second = stored_files(app)
    assert len(first) == len(second) == 1
    assert first[0] != second[0] and not first[0].exists()
    assert uploader.get("/student/cv").data.endswith(b"% second version\n")
    assert cv_name(student) == second[0].stem


def test_removing_the_cv_deletes_the_file(app: Flask, uploader: FlaskClient, student: User) -> None:
    upload(uploader, PDF)
    assert stored_files(app)
    assert uploader.post("/student/cv/delete").status_code == 302
    assert stored_files(app) == []
    assert cv_name(student) is None
    assert uploader.get("/student/cv").status_code == 404


@pytest.mark.parametrize(
    ("content", "name", "mimetype"),
    [
        (b"<html><script>alert(1)</script></html>", "cv.pdf", "application/pdf"),
        (b"MZ\x90\x00 an executable", "cv.pdf", "application/pdf"),
        (b" %PDF-1.4 not at the start", "cv.pdf", "application/pdf"),
        (b"%PDF", "cv.pdf", "application/pdf"),
        (b"PK\x03\x04 a docx", "cv.docx", "application/octet-stream"),
        (b"", "cv.pdf", "application/pdf"),
    ],
)
def test_anything_but_a_pdf_is_refused(
    app: Flask, uploader: FlaskClient, student: User, content: bytes, name: str, mimetype: str
) -> None:
    response = upload(uploader, content, name, mimetype)
    assert response.status_code == 302
    assert stored_files(app) == []
    assert cv_name(student) is None
    page = uploader.get(response.headers["Location"]).get_data(as_text=True)
    assert "PDF" in page


def test_the_size_limit_is_5_mb(app: Flask, uploader: FlaskClient, student: User) -> None:
    assert app.config["CV_MAX_BYTES"] == 5 * MB
    too_big = PDF + b"0" * (5 * MB - len(PDF) + 1)
    response = upload(uploader, too_big)
    assert response.status_code == 302  # back to the profile, with a message
    assert stored_files(app) == [] and cv_name(student) is None
    assert "5 MB" in uploader.get("/student/profile").get_data(as_text=True)

    just_fits = PDF + b"0" * (5 * MB - len(PDF))
    assert upload(uploader, just_fits).status_code == 302
    assert len(stored_files(app)) == 1
    assert stored_files(app)[0].stat().st_size == 5 * MB


def test_a_request_over_max_content_length_gets_413(
    app: Flask, uploader: FlaskClient, student: User
) -> None:
    assert app.config["MAX_CONTENT_LENGTH"] <= 10 * MB
    huge = PDF + b"0" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = upload(uploader, huge)
    assert response.status_code == 413
    assert "Traceback" not in response.get_data(as_text=True)
    check_headers(response, "413")
    assert stored_files(app) == [] and cv_name(student) is None
    # Any form, not only the upload.
    response = uploader.post(
        "/student/profile/edit", data={"bio": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)}
    )
    assert response.status_code == 413


def test_upload_without_a_file(app: Flask, uploader: FlaskClient, student: User) -> None:
    response = uploader.post("/student/cv", data={}, content_type="multipart/form-data")
    assert response.status_code == 302
    assert stored_files(app) == []


def test_only_students_upload(client: FlaskClient, sme: User, login_as: Any, app: Flask) -> None:
    login_as(sme)
    assert upload(client, PDF).status_code == 403
    assert stored_files(app) == []


def test_a_security_header_the_response_sets_is_kept_and_the_others_added_once() -> None:
    """`_headers` adds each header only when the response has none of that name, in any case
    (as `Headers.setdefault` did), and each once."""
    from app.security import STATIC_HEADERS

    app = create_app({"TESTING": True})  # its own: a route is added before its first request

    @app.route("/own-headers")
    def own_headers() -> tuple[str, int, dict[str, str]]:
        return "ok", 200, {"x-frame-options": "SAMEORIGIN", "Referrer-Policy": "no-referrer"}

    headers = app.test_client().get("/own-headers").headers
    assert headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert headers.getlist("Referrer-Policy") == ["no-referrer"]
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "Permissions-Policy"):
        assert headers.getlist(name) == [STATIC_HEADERS[name]], name
