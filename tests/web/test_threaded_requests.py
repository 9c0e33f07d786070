"""Several users' pages served at once from threads of one application, as gunicorn's threaded
worker (`gthread`, the production command's worker class since issue 14) serves them.

What the process keeps across requests (the rendered cards and rows of `app.templating`, the
dashboard's counts, the statements built once, the worded reasons, Babel's and the app's
per-locale caches) is shared by the threads; what belongs to one request (the database session,
`g`, the logged-in user, the CSRF token, the locale) must not be. Each thread here is one
logged-in reader asking for their own page again and again while the others do; every answer
must be that reader's: their own rows and no one else's, their own session's CSRF token in every
form, the page's audit row written once per read, and no error.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from kexport_support import PASSWORD, REASONS, business_number, csrf_token_from
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Match, MatchStatus, User

COMPANIES = 3  # SMEs, each with its own candidates
CANDIDATES = 3  # students per SME; the first of each also reads their proposals
ROUNDS = 12  # requests per reader


def _company(k: int) -> str:
    return f"Threadco {k} Trading"


def _student(k: int, i: int) -> str:
    return f"Threadstudent {k}x{i}"


def _programme(make_student: Any, make_sme: Any) -> tuple[list[User], list[User]]:
    """COMPANIES SMEs, each proposed CANDIDATES students of its own: SME k's candidates are
    students k×0…; student k×0's only proposal is SME k."""
    smes, students = [], []
    for k in range(COMPANIES):
        sme = make_sme(
            capacity=CANDIDATES,
            email=f"threadco{k}@example.org",
            company_name=_company(k),
            business_number=business_number(700 + k),
        )
        smes.append(sme)
        for i in range(CANDIDATES):
            student = make_student(email=f"threadstudent{k}x{i}@example.org", name=_student(k, i))
            if i == 0:
                students.append(student)
            db.session.add(
                Match(
                    student_id=student.student.id,
                    sme_id=sme.sme.id,
                    status=MatchStatus.PROPOSED,
                    score=0.5 + i / 100,
                    student_view=0.5,
                    sme_view=0.5,
                    reasons=REASONS,
                )
            )
    db.session.commit()
    return smes, students


def _logged_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    answer = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_token_from(login)}
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    return client


def _session_csrf(app: Flask, client: FlaskClient) -> str:
    """The raw CSRF secret this client's own session cookie carries."""
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return str(serializer.loads(cookie.value)["csrf_token"])


def _tokens_are_this_sessions(app: Flask, html: str, raw: str) -> bool:
    """Every CSRF token on the page was signed from this session's secret (Flask-WTF signs the
    session's raw token; a token from another reader's request would carry their secret)."""
    tokens = set(re.findall(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html))
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token")
    return bool(tokens) and all(serializer.loads(token) == raw for token in tokens)


@pytest.mark.usefixtures("coordinator")
def test_readers_served_at_once_from_threads_see_only_their_own_pages(
    app: Flask,
    make_student: Any,
    make_sme: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    smes, students = _programme(make_student, make_sme)
    readers: list[tuple[str, int, str, FlaskClient]] = []
    for k, user in enumerate(smes):
        readers.append(("sme", k, "/sme/candidates", _logged_in(app, user.email)))
    for k, user in enumerate(students):
        readers.append(("student", k, "/student/proposals", _logged_in(app, user.email)))
    readers.append(
        ("coordinator", -1, "/coordinator/matches", _logged_in(app, "coord@example.org"))
    )
    for _role, _k, path, client in readers:  # each reader's first page: its session's token
        assert client.get(path).status_code == 200
    secrets = [_session_csrf(app, client) for *_rest, client in readers]
    assert len(set(secrets)) == len(readers)
    db.session.commit()  # this thread's session holds nothing while the threads read
    with db.engine.connect() as other:
        audited_before = dict(
            other.execute(
                select(AuditEvent.actor_id, func.count())
                .where(AuditEvent.action.in_(("candidates_viewed", "matches_listed")))
                .group_by(AuditEvent.actor_id)
            ).all()
        )

    start = threading.Barrier(len(readers))
    answers: list[list[tuple[int, str]]] = [[] for _ in readers]
    failures: list[BaseException] = []

    def read(n: int) -> None:
        _role, _k, path, client = readers[n]
        try:
            start.wait(timeout=60)
            for _ in range(ROUNDS):
                response = client.get(path)
                answers[n].append((response.status_code, response.get_data(as_text=True)))
        except BaseException as error:  # noqa: BLE001 - reported below, in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=read, args=(n,)) for n in range(len(readers))]
    with caplog.at_level(logging.ERROR):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
    assert not failures, failures
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

    for (role, k, path, _client), raw, pages in zip(readers, secrets, answers, strict=True):
        assert len(pages) == ROUNDS
        for status, html in pages:
            assert status == 200, (path, html[:300])
            assert _tokens_are_this_sessions(app, html, raw), f"{role} {k}: another's token"
            if role == "sme":
                shown = {(a, b) for a in range(COMPANIES) for b in range(CANDIDATES)}
                for a, b in shown:
                    assert (_student(a, b) in html) == (a == k), (role, k, a, b)
            elif role == "student":
                for a in range(COMPANIES):
                    assert (_company(a) in html) == (a == k), (role, k, a)
            else:  # the coordinator sees every proposal
                assert all(_company(a) in html for a in range(COMPANIES))

    # One audit row per read, each with its reader as actor.
    with db.engine.connect() as other:
        audited = dict(
            other.execute(
                select(AuditEvent.actor_id, func.count())
                .where(AuditEvent.action.in_(("candidates_viewed", "matches_listed")))
                .group_by(AuditEvent.actor_id)
            ).all()
        )
    coordinator_id = db.session.scalar(select(User.id).where(User.email == "coord@example.org"))
    for user_id in [u.id for u in smes] + [coordinator_id]:
        assert audited.get(user_id, 0) - audited_before.get(user_id, 0) == ROUNDS, user_id
    assert set(audited) == {u.id for u in smes} | {coordinator_id}
