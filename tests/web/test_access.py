"""Who may open what (SECURITY.md items 7, 8, 10, 12).

The tables below are checked against `app.url_map`: a new route fails these tests until it is
classified here, so every page with an id in it is checked against every role.
"""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from kexport_support import PASSWORD
from sqlalchemy import select
from werkzeug.routing import Rule

from app import create_app
from app.extensions import db
from app.models import AuditEvent, Match, MatchCycle, User, utcnow
from app.models.matching import CycleStatus, MatchStatus
from app.services import uploads

# Every id in a URL names an object of student A, of SME S, of the match proposing A to S or of
# its cycle (see People.ids). B is another student, T an SME with no match at all.
ROLES = ("student_a", "student_b", "sme_s", "sme_t", "coordinator", "anonymous")

# GET pages with an id in them, and the roles that may see them (SECURITY.md item 7: a CV is
# visible to its owner, to coordinators, and to an SME only once the student was proposed to it).
ID_ROUTES: dict[str, set[str]] = {
    "coordinators.student": {"coordinator"},
    "coordinators.student_cv": {"coordinator"},
    "coordinators.sme": {"coordinator"},
    "coordinators.match": {"coordinator"},
    "smes.candidate_cv": {"sme_s"},
    "api.get_cycle": {"coordinator"},
    "api.pair_check": {"coordinator"},
    # After the match: the match below is only proposed, so nothing of its second half exists
    # yet (tests/collaboration/test_access_after_match.py checks an approved one, with files).
    "matches.workspace": {"coordinator"},
    "matches.message_file": set(),
    "matches.activity_file": set(),
    "matches.kickoff_ics": set(),
    "api.get_match": {"student_a", "sme_s", "coordinator"},
    "api.list_messages": set(),
}

# State-changing routes with an id in them, and the roles that may use them at all. Everyone
# else is refused and nothing changes (whether the allowed ones succeed is the business rules').
ID_CHANGES: dict[str, set[str]] = {
    "students.decide": {"student_a"},
    "smes.decide": {"sme_s"},
    "students.change_answer": {"student_a"},
    "smes.change_answer": {"sme_s"},
    "api.change_decision": {"student_a", "sme_s"},
    "smes.shortlist": {"sme_s"},
    "coordinators.match": {"coordinator"},
    "api.decide": {"student_a", "sme_s"},
    "api.approve": {"coordinator"},
    "api.reject": {"coordinator"},
    "api.revoke_token": {"student_a", "coordinator"},  # the token is A's
    "auth.revoke_token": {"student_a", "coordinator"},
    "matches.post_message": {"student_a", "sme_s", "coordinator"},
    "matches.offer_kickoff": {"sme_s"},
    "matches.confirm_kickoff": {"student_a"},
    "matches.log_activity": {"student_a"},
    "matches.review_activity": {"sme_s"},
    "matches.check_in": {"student_a", "sme_s"},
    "matches.complete": {"sme_s", "coordinator"},
    "matches.student_outcome": {"student_a"},
    "api.post_message": {"student_a", "sme_s", "coordinator"},
    "api.log_activity": {"student_a"},
    "api.check_in": {"student_a", "sme_s"},
    "api.offer_kickoff": {"sme_s"},
    "api.confirm_kickoff": {"student_a"},
    "coordinators.resend_verification": {"coordinator"},
}

# What anyone may do without logging in (the JSON API's public calls from CONTRACT.md too).
PUBLIC_GET = {
    "/",
    "/privacy",
    "/favicon.ico",
    "/signup",
    "/login",
    "/student/signup",
    "/sme/signup",
    "/healthz",
    "/password/forgot",
    "/password/reset/<token>",
    "/account/verify/<token>",
    "/api/v1/openapi.json",
    "/api/v1/taxonomy",
}
PUBLIC_CHANGE = {
    "/login",
    "/language",
    "/student/signup",
    "/sme/signup",
    "/student/signup/check",  # checks one step of the sign-up form; saves nothing
    "/sme/signup/check",
    "/password/forgot",
    "/password/reset/<token>",
    "/account/verify/<token>",
    "/api/v1/tokens",
    "/api/v1/students",
    "/api/v1/smes",
}
CHANGING = ("POST", "PUT", "PATCH", "DELETE")
# Test values of the URL's other (non-id) parts.
OTHER_VALUES = {"kind": "students", "token": "no-such-reset-token"}

PDF_A = b"%PDF-1.4\n% the CV of student A\n%%EOF\n"
PDF_B = b"%PDF-1.4\n% the CV of student B\n%%EOF\n"


def methods(rule: Rule) -> set[str]:
    return set(rule.methods or ()) - {"HEAD", "OPTIONS"}


def _rules_of(app: Flask) -> list[Rule]:
    return sorted(
        (r for r in app.url_map.iter_rules() if r.endpoint != "static"), key=lambda r: r.rule
    )


# Collected once, without a database, so each route is its own test case.
_COLLECTION_APP = create_app({"TESTING": True})
ALL_RULES = _rules_of(_COLLECTION_APP)
GET_RULES = [r for r in ALL_RULES if "GET" in methods(r)]
ID_RULES = [r for r in GET_RULES if "<int:" in r.rule]
CHANGES = [(r, m) for r in ALL_RULES for m in sorted(methods(r) & set(CHANGING))]
ID_CHANGE_CASES = [(r, m) for r, m in CHANGES if "<int:" in r.rule]
_GET_PATHS = {r.rule for r in GET_RULES}
CHANGE_ONLY_RULES = [r for r in ALL_RULES if "GET" not in methods(r) and r.rule not in _GET_PATHS]

# Bodies that would do something if the request were allowed.
FORM_BODY = {"decision": "accept", "reason": "other", "note": "x", "paused": "1", "confirm": "y"}
JSON_BODY = {"decision": "accept", "reason": "other", "note": "x"}


class People:
    """Two students (A owns a CV), two SMEs, a match proposing A to S, a coordinator; each
    with a logged-in browser (and a bearer token for the JSON API) made when first needed."""

    def __init__(self, app: Flask, make_student: Any, make_sme: Any, coordinator: User) -> None:
        self.app = app
        self.student_a = make_student(email="a@example.org", name="Student Alpha")
        self.student_b = make_student(email="b@example.org", name="Student Bravo", nationality="CN")
        self.sme_s = make_sme(email="s@example.org", company_name="에스상사")
        self.sme_t = make_sme(
            email="t@example.org", company_name="티무역", business_number="124-81-00998"
        )
        self.coordinator = coordinator
        cvs = [
            uploads.save_cv(self.student_a.student, io.BytesIO(PDF_A)),
            uploads.save_cv(self.student_b.student, io.BytesIO(PDF_B)),
        ]
        self.cycle = MatchCycle(
            status=CycleStatus.FINISHED,
            trigger="manual",
            mode="stable",
            weights={},
            candidates_k=50,
            finished_at=utcnow(),
        )
        self.match = Match(
            cycle=self.cycle,
            student_id=self.student_a.student.id,
            sme_id=self.sme_s.sme.id,
            status=MatchStatus.PROPOSED,
            score=0.8,
            student_view=0.8,
            sme_view=0.8,
            reasons=[],
        )
        db.session.add_all([self.cycle, self.match])
        db.session.commit()
        for cv in cvs:
            cv.committed()
        self.clients: dict[int | None, FlaskClient] = {}
        self.tokens: dict[int, tuple[int, str]] = {}
        self.api = any(r.rule == "/api/v1/tokens" for r in _rules_of(app))
        if self.api:
            self.token_of(self.student_a)  # its id is the <token_id> under test

    def client_for(self, user: User | None) -> FlaskClient:
        key = user.id if user else None
        if key not in self.clients:
            client = self.app.test_client()
            if user is not None:
                response = client.post("/login", data={"email": user.email, "password": PASSWORD})
                assert response.status_code == 302
            self.clients[key] = client
        return self.clients[key]

    def token_of(self, user: User) -> tuple[int, str]:
        if user.id not in self.tokens:
            response = self.app.test_client().post(
                "/api/v1/tokens", json={"email": user.email, "password": PASSWORD}
            )
            assert response.status_code == 201, response.data
            self.tokens[user.id] = (response.json["id"], response.json["token"])
        return self.tokens[user.id]

    def ready(self, user: User | None, url: str) -> None:
        """Log in (or get a token) now, so that it happens before a snapshot, not during."""
        if url.startswith("/api/"):
            if user is not None:
                self.token_of(user)
        else:
            self.client_for(user)

    def open(self, user: User | None, method: str, url: str) -> Any:
        """A request as `user`: with a cookie on pages, with a bearer token under /api/."""
        self.ready(user, url)
        if url.startswith("/api/"):
            headers = {"Authorization": f"Bearer {self.token_of(user)[1]}"} if user else {}
            body = {"json": JSON_BODY} if method != "GET" else {}
            return self.app.test_client().open(url, method=method, headers=headers, **body)
        body = {"data": FORM_BODY} if method != "GET" else {}
        return self.client_for(user).open(url, method=method, **body)

    def ids(self) -> dict[str, Any]:
        ids: dict[str, Any] = {
            "student_id": self.student_a.student.id,
            "sme_id": self.sme_s.sme.id,
            "user_id": self.student_a.id,
            "match_id": self.match.id,
            "cycle_id": self.cycle.id,
            "message_id": 1,  # none exists: no thread before approval
            "activity_id": 1,
            **OTHER_VALUES,
        }
        if self.api:
            ids["token_id"] = self.token_of(self.student_a)[0]
        return ids

    def user_for(self, role: str) -> User | None:
        return {
            "student_a": self.student_a,
            "student_b": self.student_b,
            "sme_s": self.sme_s,
            "sme_t": self.sme_t,
            "coordinator": self.coordinator,
            "anonymous": None,
        }[role]

    def url(self, rule: Rule, **override: Any) -> str:
        ids = {**self.ids(), **override}
        values = {}
        for name in rule.arguments:
            assert name in ids, f"{rule.rule}: no test value for <{name}>: add it to People.ids()"
            values[name] = ids[name]
        with self.app.test_request_context():
            from flask import url_for

            return url_for(rule.endpoint, **values)

    def everyone(self) -> dict[str, User | None]:
        return {
            "anonymous": None,
            "student": self.student_a,
            "sme": self.sme_s,
            "coordinator": self.coordinator,
        }


@pytest.fixture
def people(app: Flask, make_student: Any, make_sme: Any, coordinator: User) -> People:
    return People(app, make_student, make_sme, coordinator)


def goes_to_login(response: Any) -> bool:
    if response.status_code == 401:  # the JSON API answers 401 rather than redirecting
        return True
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


# --- everything with an id in it, for every role ----------------------------------------------


@pytest.mark.parametrize("rule", ID_RULES, ids=lambda r: r.endpoint)
def test_every_page_with_an_id_against_every_role(people: People, rule: Rule) -> None:
    assert rule.endpoint in ID_ROUTES, (
        f"{rule.rule} ({rule.endpoint}) is not classified: add it to ID_ROUTES with the roles "
        "that may see it"
    )
    allowed = ID_ROUTES[rule.endpoint]
    url = people.url(rule)
    unexpected = []
    for role in ROLES:
        response = people.open(people.user_for(role), "GET", url)
        assert response.status_code < 500, (role, url)
        if role in allowed:
            assert response.status_code == 200, (role, url, response.status_code)
        elif response.status_code == 200:
            unexpected.append(role)
        if role == "anonymous":
            assert goes_to_login(response), (url, response.status_code)
        elif role not in allowed:
            assert response.status_code in (403, 404), (role, url, response.status_code)
    assert unexpected == [], f"{url} answered 200 to {unexpected}"


@pytest.mark.parametrize("rule", ID_RULES, ids=lambda r: r.endpoint)
def test_ids_that_do_not_exist(people: People, rule: Rule) -> None:
    missing = {name: 987654 for name in rule.arguments if name not in OTHER_VALUES}
    url = people.url(rule, **missing)
    for role in ROLES:
        response = people.open(people.user_for(role), "GET", url)
        assert response.status_code in (302, 401, 403, 404), (role, url, response.status_code)


@pytest.mark.parametrize("case", ID_CHANGE_CASES, ids=lambda c: f"{c[1]} {c[0].endpoint}")
def test_every_state_change_with_an_id_against_every_role(
    people: People, case: tuple[Rule, str]
) -> None:
    rule, method = case
    assert rule.endpoint in ID_CHANGES, (
        f"{method} {rule.rule} ({rule.endpoint}) is not classified: add it to ID_CHANGES with "
        "the roles that may use it"
    )
    url = people.url(rule)
    for role in ROLES:
        if role in ID_CHANGES[rule.endpoint]:
            continue
        user = people.user_for(role)
        people.ready(user, url)
        before = snapshot()
        response = people.open(user, method, url)
        if role == "anonymous":
            assert goes_to_login(response), (url, response.status_code)
        else:
            assert response.status_code in (403, 404), (role, method, url, response.status_code)
        assert snapshot() == before, f"{method} {url} as {role} changed the database"


def test_every_route_with_an_id_is_classified(app: Flask) -> None:
    for rule in _rules_of(app):
        if "<int:" in rule.rule:
            if "GET" in methods(rule):
                assert rule.endpoint in ID_ROUTES, rule.rule
            if methods(rule) & set(CHANGING):
                assert rule.endpoint in ID_CHANGES, rule.rule


# --- pages by role --------------------------------------------------------------------------------


def get_rules_under(prefix: str) -> list[Rule]:
    return [r for r in GET_RULES if r.rule.startswith(prefix)]


def test_anonymous_visitors_are_sent_to_login_from_every_private_page(people: People) -> None:
    for rule in GET_RULES:
        url = people.url(rule)
        response = people.open(None, "GET", url)
        if rule.rule in PUBLIC_GET:
            assert response.status_code < 500, url
            assert not goes_to_login(response), url
            continue
        assert goes_to_login(response), (url, response.status_code)
        if response.status_code == 302:
            location = response.headers["Location"]
            assert "next=" in location, location  # and back to the page after login


def test_anonymous_changes_go_to_login(people: People) -> None:
    assert len(CHANGES) >= 8
    for rule, method in CHANGES:
        if rule.rule in PUBLIC_CHANGE:
            continue
        url = people.url(rule)
        before = snapshot()
        response = people.open(None, method, url)
        assert goes_to_login(response), (method, rule.rule, response.status_code)
        assert snapshot() == before, (method, rule.rule)


@pytest.mark.parametrize("role", ["student", "sme"])
def test_students_and_smes_get_403_on_every_coordinator_page(people: People, role: str) -> None:
    user = people.everyone()[role]
    client = people.client_for(user)
    rules = get_rules_under("/coordinator")
    assert len(rules) >= 5
    for rule in rules:
        assert client.get(people.url(rule)).status_code == 403, rule.rule
    for rule, method in CHANGES:
        if rule.rule.startswith("/coordinator"):
            response = client.open(people.url(rule), method=method, data=FORM_BODY)
            assert response.status_code == 403, (method, rule.rule)
    forbidden = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "forbidden", AuditEvent.actor_id == user.id)
    ).all()
    assert len(forbidden) >= len(rules)  # every refusal is on the audit trail


@pytest.mark.parametrize(
    ("role", "prefix"),
    [
        ("student", "/sme/"),
        ("sme", "/student/"),
        ("coordinator", "/student/"),
        ("coordinator", "/sme/"),
    ],
)
def test_each_role_stays_out_of_the_others_pages(people: People, role: str, prefix: str) -> None:
    client = people.client_for(people.everyone()[role])
    rules = [r for r in ALL_RULES if r.rule.startswith(prefix)]
    assert rules
    for rule in rules:
        url = people.url(rule)
        if rule.rule in PUBLIC_GET:
            # Sign-up pages send a logged-in person to their own home instead.
            response = client.get(url)
            assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
            continue
        for method in methods(rule):
            response = client.open(url, method=method, data=FORM_BODY)
            assert response.status_code == 403, (role, method, url)


def test_coordinators_see_every_coordinator_page(people: People) -> None:
    client = people.client_for(people.coordinator)
    for rule in get_rules_under("/coordinator"):
        assert client.get(people.url(rule)).status_code == 200, rule.rule


def test_each_home_is_reached_through_the_dashboard(people: People) -> None:
    homes = {"student": "/student/", "sme": "/sme/", "coordinator": "/coordinator/"}
    for role, home in homes.items():
        client = people.client_for(people.everyone()[role])
        assert client.get("/dashboard").headers["Location"] == home
        assert client.get(home).status_code == 200


# --- nobody reads another's profile or CV ---------------------------------------------------------


def test_a_student_sees_only_their_own_profile_and_cv(people: People) -> None:
    alpha = people.client_for(people.student_a)
    page = alpha.get("/student/profile").get_data(as_text=True)
    assert "Student Alpha" in page and "Student Bravo" not in page
    cv = alpha.get("/student/cv")
    assert cv.status_code == 200 and cv.data == PDF_A

    bravo = people.client_for(people.student_b)
    assert bravo.get("/student/cv").data == PDF_B
    edit = bravo.get("/student/profile/edit").get_data(as_text=True)
    assert "Student Bravo" in edit and "Student Alpha" not in edit


def test_smes_download_a_cv_only_once_the_student_was_proposed_to_them(people: People) -> None:
    student_id = people.student_a.student.id
    for sme in (people.sme_s, people.sme_t):
        client = people.client_for(sme)
        assert client.get("/student/cv").status_code == 403
        assert client.get(f"/coordinator/students/{student_id}/cv").status_code == 403
    candidate_cv = [r for r in GET_RULES if r.endpoint == "smes.candidate_cv"]
    if not candidate_cv:
        return  # no route serves CVs to SMEs
    url = people.url(candidate_cv[0])
    assert people.client_for(people.sme_t).get(url).status_code in (403, 404)
    response = people.client_for(people.sme_s).get(url)
    assert response.status_code == 200 and response.data == PDF_A
    assert response.headers["Content-Disposition"].startswith("attachment")
    # Once the proposal is withdrawn (consent withdrawn, the student left), the CV is gone too.
    people.match.status = MatchStatus.WITHDRAWN
    db.session.commit()
    assert people.client_for(people.sme_s).get(url).status_code in (403, 404)


def test_coordinators_download_a_cv_and_the_download_is_audited(people: People) -> None:
    client = people.client_for(people.coordinator)
    for user, content in ((people.student_a, PDF_A), (people.student_b, PDF_B)):
        response = client.get(f"/coordinator/students/{user.student.id}/cv")
        assert response.status_code == 200 and response.data == content
    downloads = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "cv_downloaded")
    ).all()
    assert {e.target_id for e in downloads} == {
        people.student_a.student.id,
        people.student_b.student.id,
    }
    assert {e.actor_id for e in downloads} == {people.coordinator.id}


def test_an_sme_sees_only_its_own_company(people: People) -> None:
    client = people.client_for(people.sme_t)
    for path in ("/sme/", "/sme/profile", "/sme/profile/edit"):
        page = client.get(path).get_data(as_text=True)
        assert "에스상사" not in page, path
    assert "티무역" in client.get("/sme/profile").get_data(as_text=True)


def test_no_default_coordinator_and_no_self_service_coordinator(client: FlaskClient) -> None:
    assert db.session.scalar(select(User).where(User.role == "coordinator")) is None
    for path in ("/student/signup", "/sme/signup", "/signup"):
        page = client.get(path).get_data(as_text=True)
        assert "coordinator" not in page.lower(), path


# --- no GET changes anything ----------------------------------------------------------------------


# Bookkeeping a read is allowed to write: the audit trail (reading personal data is *meant* to
# leave an entry, SECURITY.md item 16: it records the read, it changes nothing), and when a
# bearer token was last used (written at most once a minute), and the health check's probe row
# (`/healthz` writes it to prove the database still accepts writes).
NOT_STATE = {"audit_events": None, "api_tokens": {"last_used_at"}, "health_probe": None}


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, but for the bookkeeping above."""
    db.session.expire_all()
    tables = {}
    for table in db.metadata.sorted_tables:
        ignored = NOT_STATE.get(table.name, set())
        if ignored is None:
            continue
        columns = [c for c in table.columns if c.name not in ignored]
        rows = db.session.execute(select(*columns)).all()
        tables[table.name] = sorted((tuple(map(repr, row)) for row in rows), key=repr)
    db.session.commit()  # end the read before the next request (SQLite takes its lock at BEGIN)
    return tables


def test_no_get_request_changes_state(people: People) -> None:
    for role, user in people.everyone().items():
        client = people.client_for(user)
        for rule in GET_RULES:
            url = people.url(rule)
            people.ready(user, url)
            before = snapshot()
            response = people.open(user, "GET", url)
            assert response.status_code < 500, (role, url)
            assert snapshot() == before, f"GET {url} as {role} changed the database"
        # Still logged in as before: no GET logged anyone out.
        if user is not None:
            assert client.get("/dashboard").status_code == 302
            assert client.get("/dashboard").headers["Location"] != "/login"


def test_get_on_state_changing_routes_is_refused(people: People) -> None:
    client = people.client_for(people.student_a)
    for rule in CHANGE_ONLY_RULES:
        url = people.url(rule)
        before = snapshot()
        response = client.get(url, query_string={"confirm": "y", "locale": "ko"})
        assert response.status_code == 405, (url, response.status_code)
        assert snapshot() == before, url
    assert client.get("/student/").status_code == 200  # GET /logout did not log out


def test_get_requests_with_a_query_string_change_nothing(people: People) -> None:
    client = people.client_for(people.student_a)
    before = snapshot()
    for path in ("/student/profile/edit", "/account", "/student/", "/login", "/dashboard"):
        response = client.get(
            path, query_string={"name": "Changed", "hours_per_week": "40", "confirm": "y"}
        )
        assert response.status_code in (200, 302)
    assert snapshot() == before


# --- next= redirects stay on this site ------------------------------------------------------------

UNSAFE_NEXT = [
    "//evil.com",
    "//evil.com/student/",
    "https://evil.com",
    "http://evil.com/",
    "/\\evil.com",
    "\\\\evil.com",
    "/\\/evil.com",
    "///evil.com",
    "////evil.com",
    "http:evil.com",
    "https:/evil.com",
    "javascript:alert(1)",
    "data:text/html,hi",
    " //evil.com",
    "/\t/evil.com",
    "/\n/evil.com",
    "evil.com",
    "",
]


def is_on_this_site(location: str) -> bool:
    parts = urlsplit(location)
    return (
        parts.scheme in ("", "http")
        and parts.netloc in ("", "localhost")
        and location.startswith("/")
        and not location.startswith("//")
        and "\\" not in location
        and not re.match(r"/[\s/\\]", location)
    )


@pytest.mark.parametrize("target", UNSAFE_NEXT)
def test_login_never_redirects_off_site(client: FlaskClient, student: User, target: str) -> None:
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": student.email, "password": PASSWORD, "next": target},
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/dashboard", location
    assert is_on_this_site(location)


@pytest.mark.parametrize("target", UNSAFE_NEXT)
def test_language_switch_never_redirects_off_site(client: FlaskClient, target: str) -> None:
    response = client.post("/language", data={"locale": "ko", "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/", response.headers["Location"]


@pytest.mark.parametrize("target", ["/student/profile", "/student/profile?tab=cv", "/account"])
def test_login_goes_back_to_a_page_of_this_site(
    client: FlaskClient, student: User, target: str
) -> None:
    response = client.post(
        "/login", data={"email": student.email, "password": PASSWORD, "next": target}
    )
    assert response.headers["Location"] == target


def test_the_login_redirect_carries_next_through_the_form(
    client: FlaskClient, student: User
) -> None:
    redirect = client.get("/student/profile")
    assert redirect.status_code == 302
    login_page = client.get(redirect.headers["Location"]).get_data(as_text=True)
    match = re.search(r'name="next" type="hidden" value="([^"]*)"', login_page) or re.search(
        r'id="next" name="next" type="hidden" value="([^"]*)"', login_page
    )
    assert match, "the login form does not carry next"
    response = client.post(
        "/login", data={"email": student.email, "password": PASSWORD, "next": match.group(1)}
    )
    assert response.headers["Location"] == "/student/profile"
