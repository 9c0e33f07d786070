"""JSON API v1: the same services as the HTML pages, a bearer token instead of a cookie.

Each view: who is calling → validated input → one service call → a response model; the request
boundary (app.transaction) commits a success and rolls back a refusal. Rate limits are counted
and committed before the work, so a failing request still counts.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from flask_babel import gettext as _
from pydantic import BaseModel
from sqlalchemy import select

from app import schemas, taxonomy
from app.api import auth
from app.api.auth import api_user
from app.api.schemas import (
    ActivityOut,
    AdoptIn,
    AdoptionOut,
    ApproveIn,
    BlockOut,
    CheckInOut,
    ConsentOut,
    ContactOut,
    CycleList,
    CycleOut,
    DecisionIn,
    ErrorDetail,
    ErrorOut,
    ExportStatusOut,
    KickoffOut,
    KpisOut,
    MatchDetailOut,
    MatchList,
    MatchOut,
    MatchQuery,
    MeOut,
    MessageList,
    MessageOut,
    ModelOut,
    ModelReportOut,
    PageQuery,
    PairCheckOut,
    PairIn,
    ReasonOut,
    RejectIn,
    SideWeights,
    SignupOut,
    SMEOut,
    StudentOut,
    TaxonomyOut,
    TokenInfoOut,
    TokenList,
    TokenOut,
    openapi_document,
)
from app.errors import render_error
from app.extensions import db
from app.i18n import current_locale, error_messages, translate_errors
from app.models import Activity, Match, MatchCycle, Role, User
from app.schemas import ID_MAX
from app.services import (
    accounts,
    audit,
    checkins,
    consents,
    cycles,
    decisions,
    directory,
    engine_gateway,
    kickoff,
    learned_weights,
    match_settings,
    outcomes,
    profiles,
    ratelimit,
    stats,
    threads,
    tokens,
    visibility,
    worklog,
    workspace,
)
from app.services.audit import client_ip
from app.services.errors import (
    AuthenticationFailed,
    Conflict,
    ConsentRenewalRequired,
    DomainError,
    InvalidInput,
    NotAllowed,
    NotFound,
)
from app.services.explanations import block_text, reason_text
from app.services.validation import validate
from app.transaction import commit_now

bp = Blueprint("api", __name__)
bp.before_request(auth.load_api_user)
bp.teardown_request(auth.end_api_request)


class BadBody(DomainError):
    status = 400
    code = "bad_request"


class CycleRunning(DomainError):
    status = 409
    code = "conflict"


# --- errors ---------------------------------------------------------------------------------------


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError) -> Response:
    """A service said no: the same JSON shape for every refusal, never a 500."""
    db.session.rollback()  # what must outlive a refusal (a failed login, a hit) is committed
    if isinstance(error, NotAllowed):
        audit.record("forbidden", detail={"path": request.path[:200]})
        commit_now()  # the refusal is audited, though the answer is a 403
    if isinstance(error, InvalidInput):
        if isinstance(error, ConsentRenewalRequired):
            message = _(
                "The privacy policy has changed: answer it again with PUT /api/v1/me/consent "
                "before anything else."
            )
        elif isinstance(error, Conflict):
            message = _("This conflicts with what is already recorded.")
        else:
            message = _("Some fields are not valid.")
        body = ErrorOut(
            error=ErrorDetail(
                code=error.code, message=message, fields=translate_errors(error.fields)
            )
        )
        return _json(body, error.status)
    messages = {
        400: _("Send a JSON object as the request body."),
        401: _("Log in with a valid bearer token."),
        403: _("Your role does not allow this."),
        409: _("Another matching cycle is queued or running. Try again when it has finished."),
    }
    if isinstance(error, AuthenticationFailed | learned_weights.NotEnoughAnswers):
        # their own sentence, as the pages say it (app.i18n)
        messages[error.status] = " ".join(error_messages(error)[error.field])
    response = render_error(
        error.status,
        messages.get(error.status),
        retry_after=getattr(error, "retry_after", None),
    )
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


# --- helpers --------------------------------------------------------------------------------------


def _json(model: BaseModel, status: int = 200) -> Response:
    response = jsonify(model.model_dump(mode="json"))
    response.status_code = status
    return response


def _no_content() -> Response:
    return Response(status=204)


def _body(*, optional: bool = False) -> Any:
    """The request's JSON, whatever its Content-Type says; 400 when missing or broken."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if optional:
            return {}
        raise BadBody("no body")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise BadBody("not JSON") from None


def _query(model: type[PageQuery]) -> Any:
    # A query string is text: "2" is the number 2 here (lax), unlike in a JSON body.
    return validate(model, request.args.to_dict(), strict=False)


def _check_id(value: int) -> int:
    if not 1 <= value <= ID_MAX:
        raise NotFound("no such id")
    return value


def _limit(scope: str, key: str, limit_key: str, window_key: str) -> None:
    config = current_app.config
    ratelimit.hit(scope, key, limit=config[limit_key], window=config[window_key])
    commit_now()  # counted even if the request then fails


def _address() -> str:
    return client_ip() or "unknown"


def _reason_out(r: dict[str, Any]) -> ReasonOut:
    return ReasonOut(
        factor=str(r.get("factor", "")),
        key=str(r.get("key", "")),
        params=r.get("params") or {},
        weight=float(r.get("weight", 0)),
        detail=reason_text(r),
    )


def match_out(match: Match) -> MatchOut:
    reasons = [_reason_out(r) for r in match.reasons or []]
    return MatchOut(
        id=match.id,
        cycle=match.cycle_id,
        student_id=match.student_id,
        sme_id=match.sme_id,
        score=match.score,
        reasons=reasons,
        status=match.status,
        student_decision=match.student_decision,  # type: ignore[arg-type]
        sme_decision=match.sme_decision,  # type: ignore[arg-type]
        created_at=match.created_at,
        updated_at=match.updated_at,
    )


def cycle_url(cycle: MatchCycle) -> str:
    return url_for("api.get_cycle", cycle_id=cycle.id)


def cycle_out(cycle: MatchCycle) -> CycleOut:
    data = {name: getattr(cycle, name) for name in CycleOut.model_fields if name != "url"}
    data["url"] = cycle_url(cycle)
    data["status"] = str(cycle.status)
    data["weights"] = dict(cycle.weights or {})
    return CycleOut.model_validate(data)


# --- public ---------------------------------------------------------------------------------------


@cache
def _openapi() -> dict[str, Any]:
    return openapi_document()


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 description of this API, generated from the models that validate it."""
    return jsonify(_openapi())


@bp.get("/taxonomy")
def get_taxonomy() -> Response:
    """Every code the API accepts, with English and Korean names."""
    return _json(TaxonomyOut.model_validate(taxonomy.as_json()))


@bp.post("/students")
def create_student() -> Response:
    """Sign a student up: the sign-up form's fields and rules."""
    _limit("signup", _address(), "API_SIGNUP_LIMIT_PER_ADDRESS", "API_SIGNUP_LIMIT_WINDOW")
    user = accounts.register_student(_body(), locale=current_locale())
    assert user.student is not None
    return _json(SignupOut(id=user.id, profile_id=user.student.id), 201)


@bp.post("/smes")
def create_sme() -> Response:
    """Sign an SME up: the registration form's fields and rules."""
    _limit("signup", _address(), "API_SIGNUP_LIMIT_PER_ADDRESS", "API_SIGNUP_LIMIT_WINDOW")
    user = accounts.register_sme(_body(), locale=current_locale())
    assert user.sme is not None
    return _json(SignupOut(id=user.id, profile_id=user.sme.id), 201)


# --- tokens ---------------------------------------------------------------------------------------


@bp.post("/tokens")
def create_token() -> Response:
    """Email and password → a bearer token. A wrong password counts as a failed login."""
    address, data = _address(), _body()
    _limit_token_requests(address, data)
    credentials = validate(schemas.Credentials, data)
    try:
        user = accounts.authenticate(credentials.email, credentials.password, ip=address)
    except AuthenticationFailed:
        commit_now()  # the failure counts, across every worker
        raise
    token, secret = tokens.issue(user)
    return _json(TokenOut(id=token.id, token=secret, expires_at=token.expires_at), 201)


def _limit_token_requests(address: str, data: Any) -> None:
    """Count a token request against its address and, when it names one, its account."""
    _limit("token_address", address, "API_TOKEN_LIMIT_PER_ADDRESS", "API_TOKEN_LIMIT_WINDOW")
    email = data.get("email") if isinstance(data, dict) else None
    if isinstance(email, str) and email.strip():
        account = email.strip().lower()[:254]
        _limit("token_account", account, "API_TOKEN_LIMIT_PER_ACCOUNT", "API_TOKEN_LIMIT_WINDOW")


@bp.get("/tokens")
def list_tokens() -> Response:
    """My live tokens, newest first; never the secret."""
    user = api_user()
    q = _query(PageQuery)
    rows, total = tokens.of_user(user, page=q.page, per_page=q.per_page)
    items = [TokenInfoOut.model_validate(row) for row in rows]
    return _json(TokenList(items=items, total=total, page=q.page, per_page=q.per_page))


@bp.delete("/tokens/<int:token_id>")
def revoke_token(token_id: int) -> Response:
    """Revoke a token: mine, or anyone's for a coordinator."""
    user = api_user()
    tokens.revoke(_check_id(token_id), user)
    return _no_content()


# --- me -------------------------------------------------------------------------------------------


@bp.get("/me")
def get_me() -> Response:
    """My account, consent and profile."""
    return _json(me_out(api_user()))


def me_out(user: User) -> MeOut:
    consent = consents.current_consent(user)
    return MeOut(
        id=user.id,
        email=user.email,
        role=str(user.role),  # type: ignore[arg-type]
        locale=user.locale,
        created_at=user.created_at,
        consent=ConsentOut.model_validate(consent) if consent else None,
        student=StudentOut.model_validate(profiles.student_dict(user.student))
        if user.student
        else None,
        sme=SMEOut.model_validate(profiles.sme_dict(user.sme)) if user.sme else None,
    )


@bp.put("/me/consent")
def renew_consent() -> Response:
    """Answer the privacy policy in force (again); open while consent is out of date."""
    user = api_user()
    row = accounts.update_consent(user, _body())
    return _json(ConsentOut.model_validate(row))


@bp.delete("/me")
def delete_me() -> Response:
    """Delete my account and all my data, now (its tokens with it)."""
    user = api_user()
    accounts.delete_account(user)  # its files go with the commit
    return _no_content()


# --- matches --------------------------------------------------------------------------------------


@bp.get("/matches")
def list_matches() -> Response:
    """Coordinators: every match; students and SMEs: those they may see. Filtered as the
    coordinators' page is: status (or `ready`, oldest first), cycle, market, industry, region,
    score_min."""
    user = api_user()
    q: MatchQuery = _query(MatchQuery)
    query = directory.match_query(directory.MatchFilters.of(q), visibility.visible_to(user))
    page = directory.page_of(query, q.page, q.per_page)
    items = [match_out(m) for m in page.items]
    audit.record(
        "matches_listed",
        detail={"api": True, "page": q.page, "status": q.status, "cycle": q.cycle, "n": len(items)},
    )
    return _json(MatchList(items=items, total=page.total or 0, page=q.page, per_page=q.per_page))


@bp.post("/matches/<int:match_id>/decision")
def decide(match_id: int) -> Response:
    """The student or the SME of a proposal accepts or declines it."""
    user = api_user()
    visibility.get_visible_match(_check_id(match_id), user)
    body = validate(DecisionIn, _body())
    match = decisions.decide(match_id, user, body.decision, reason=body.reason, note=body.note)
    return _json(match_out(match))


@bp.put("/matches/<int:match_id>/decision")
def change_decision(match_id: int) -> Response:
    """The student or the SME changes its answer until a coordinator acts on it."""
    user = api_user()
    visibility.get_visible_match(_check_id(match_id), user)
    body = validate(DecisionIn, _body())
    match = decisions.change_answer(
        match_id, user, body.decision, reason=body.reason, note=body.note
    )
    return _json(match_out(match))


@bp.get("/pairs/<int:student_id>/<int:sme_id>")
def pair_check(student_id: int, sme_id: int) -> Response:
    """Why (not): any pair as the next cycle would see it (coordinators)."""
    api_user(Role.COORDINATOR)
    check = engine_gateway.check_pair(
        _check_id(student_id), _check_id(sme_id), match_settings.engine_weights()
    )
    return _json(pair_check_out(check))


def pair_check_out(check: engine_gateway.PairCheck) -> PairCheckOut:
    return PairCheckOut(
        acceptable=check.acceptable,
        score=check.score,
        student_view=check.student_view,
        sme_view=check.sme_view,
        reasons=[_reason_out(r) for r in check.reasons],
        blocked=check.blocked,
        blocks=[
            BlockOut(
                code=code,
                params=check.blocked_params.get(code, {}),
                message=block_text(code, check.blocked_params.get(code)),
            )
            for code in check.blocked
        ],
        rules_version=check.rules_version,
    )


@bp.post("/matches/<int:match_id>/approve")
def approve(match_id: int) -> Response:
    """A coordinator approves a proposal (an override reason stands in for an acceptance)."""
    user = api_user(Role.COORDINATOR)
    _check_id(match_id)
    body = validate(ApproveIn, _body(optional=True))
    match = decisions.approve(match_id, user, override_reason=body.override_reason)
    return _json(match_out(match))


@bp.post("/matches/<int:match_id>/reject")
def reject(match_id: int) -> Response:
    """A coordinator rejects a proposal."""
    user = api_user(Role.COORDINATOR)
    _check_id(match_id)
    body = validate(RejectIn, _body(optional=True))
    match = decisions.reject(match_id, user, reason=body.reason)
    return _json(match_out(match))


@bp.post("/matches")
def create_match() -> Response:
    """A coordinator pairs a student and an SME by hand; both are told by email."""
    user = api_user(Role.COORDINATOR)
    body = validate(PairIn, _body())
    match = decisions.pair(
        body.student_id, body.sme_id, user, reason=body.reason, override=body.override
    )
    return _json(match_out(match), 201)


# --- cycles ---------------------------------------------------------------------------------------


@bp.post("/cycles")
def run_cycle() -> Response:
    """Ask for a cycle: 202 with its queued record (the scheduler runs it), 409 if one is due."""
    user = api_user(Role.COORDINATOR)
    try:
        cycle = cycles.request_cycle(trigger="api", started_by=user)
    except cycles.CycleBusy:
        raise CycleRunning("another cycle is queued or running") from None
    response = _json(cycle_out(cycle), 202)
    response.headers["Location"] = cycle_url(cycle)
    return response


@bp.get("/cycles")
def list_cycles() -> Response:
    """Cycle history, newest first."""
    api_user(Role.COORDINATOR)
    q = _query(PageQuery)
    page = directory.page_of(select(MatchCycle).order_by(MatchCycle.id.desc()), q.page, q.per_page)
    items = [cycle_out(c) for c in page.items]
    return _json(CycleList(items=items, total=page.total or 0, page=q.page, per_page=q.per_page))


@bp.get("/cycles/<int:cycle_id>")
def get_cycle(cycle_id: int) -> Response:
    """One cycle's record."""
    api_user(Role.COORDINATOR)
    cycle = db.session.get(MatchCycle, _check_id(cycle_id))
    if cycle is None:
        raise NotFound("no such cycle")
    return _json(cycle_out(cycle))


# --- the learned model ----------------------------------------------------------------------------


def report_out(report: Any) -> ModelReportOut:
    return ModelReportOut(
        id=report.id,
        created_at=report.created_at,
        weights=SideWeights.model_validate(report.weights),
        current_weights=SideWeights.model_validate(report.current_weights),
        better=report.better,
        auc=learned_weights.auc_summary(report),
        n_answers=report.n_answers,
        report=report.report,
    )


@bp.get("/model")
def get_model() -> Response:
    """The weights in force per side and the latest training report."""
    api_user(Role.COORDINATOR)
    state = learned_weights.status()
    return _json(
        ModelOut(
            weights=SideWeights.model_validate(state.weights),
            source=state.source,  # type: ignore[arg-type]
            n_answers=state.counts,
            min_decisions=state.minimum,
            needed=state.needed,
            latest_report=report_out(state.latest) if state.latest else None,
        )
    )


@bp.post("/model/train")
def train_model() -> Response:
    """Learn two-sided weights from the answers so far (adopts nothing)."""
    user = api_user(Role.COORDINATOR)
    report = learned_weights.train(user)
    return _json(report_out(report), 201)


@bp.post("/model/adopt")
def adopt_model() -> Response:
    """Use a report's weights from the next cycle (audited)."""
    user = api_user(Role.COORDINATOR)
    body = validate(AdoptIn, _body())
    adoption = learned_weights.adopt(body.report_id, user)
    return _json(
        AdoptionOut(
            id=adoption.id,
            adopted_at=adoption.adopted_at,
            kind=adoption.kind,
            report_id=adoption.report_id,
            weights=SideWeights.model_validate(adoption.weights),
        )
    )


# --- after the match ------------------------------------------------------------------------------


@bp.get("/matches/<int:match_id>")
def get_match(match_id: int) -> Response:
    """One match, with both parties' contact details once approved (every view audited)."""
    user = api_user()
    access = workspace.visible(user, _check_id(match_id))
    contact = workspace.contact_for(access, user)  # audited
    out = match_out(access.match).model_dump()
    out["contact"] = ContactOut.model_validate(contact) if contact else None
    return _json(MatchDetailOut.model_validate(out))


def message_out(message: Any, user: User, read_by_other: int) -> MessageOut:
    return MessageOut(
        id=message.id,
        author_role=message.author_role,
        mine=message.author_id == user.id,
        body=message.body,
        has_attachment=message.attachment is not None,
        read_by_other=message.author_id == user.id and message.id <= read_by_other,
        created_at=message.created_at,
    )


@bp.get("/matches/<int:match_id>/messages")
def list_messages(match_id: int) -> Response:
    """The thread, oldest first, a page at a time; reading it moves my read mark."""
    user = api_user()
    q = _query(PageQuery)
    thread = threads.read(_check_id(match_id), user)  # moves my read mark
    return _json(message_list_out(thread, user, q))


def message_list_out(thread: threads.Thread, user: User, q: PageQuery) -> MessageList:
    """One page of the thread, as the reader sees it."""
    start = (q.page - 1) * q.per_page
    items = [
        message_out(m, user, thread.read_by_other)
        for m in thread.messages[start : start + q.per_page]
    ]
    return MessageList(
        items=items,
        total=len(thread.messages),
        page=q.page,
        per_page=q.per_page,
        unread=thread.unread,
    )


@bp.post("/matches/<int:match_id>/messages")
def post_message(match_id: int) -> Response:
    """Send a plain-text message to the match's thread."""
    user = api_user()
    message, _change = threads.post(_check_id(match_id), user, _body())  # no file over JSON
    return _json(message_out(message, user, 0), 201)


@bp.post("/matches/<int:match_id>/activities")
def log_activity(match_id: int) -> Response:
    """The student adds a work-log entry."""
    user = api_user()
    activity, _change = worklog.log(_check_id(match_id), user, _body())
    return _json(activity_out(activity), 201)


def activity_out(activity: Activity) -> ActivityOut:
    """An entry with its week's hours so far and the student's weekly limit."""
    match = db.session.get(Match, activity.match_id)
    assert match is not None
    return ActivityOut(
        id=activity.id,
        kind=activity.kind,
        date=activity.worked_on,
        hours=activity.hours,
        note=activity.note,
        status=activity.status,  # type: ignore[arg-type]
        week_hours=worklog.week_hours(activity.match_id, activity.worked_on),
        weekly_limit=worklog.weekly_limit(match.student),
    )


@bp.post("/matches/<int:match_id>/checkins")
def check_in(match_id: int) -> Response:
    """This month's check-in."""
    user = api_user()
    checkin = checkins.submit(_check_id(match_id), user, _body())
    return _json(CheckInOut.model_validate(checkin), 201)


def kickoff_out(match_id: int) -> KickoffOut:
    meeting = kickoff.get(match_id)
    match = db.session.get(Match, match_id)
    assert meeting is not None and match is not None
    return KickoffOut(
        slots=meeting.slots,  # type: ignore[arg-type]
        chosen=meeting.chosen,
        starts_at=meeting.starts_at,
        place=meeting.place,
        match_status=match.status,
    )


@bp.post("/matches/<int:match_id>/kickoff")
def offer_kickoff(match_id: int) -> Response:
    """The SME offers up to three meeting times."""
    user = api_user()
    kickoff.offer(_check_id(match_id), user, _body())
    return _json(kickoff_out(match_id), 201)


@bp.post("/matches/<int:match_id>/kickoff/confirm")
def confirm_kickoff(match_id: int) -> Response:
    """The student picks a time; the match becomes active."""
    user = api_user()
    kickoff.confirm(_check_id(match_id), user, _body())
    return _json(kickoff_out(match_id))


@bp.put("/smes/me/export-status")
def set_export_status() -> Response:
    """My company's export status."""
    user = api_user(Role.SME)
    status = outcomes.set_export_status(user, _body())
    return _json(ExportStatusOut.model_validate(status))


@bp.get("/stats/kpis")
def get_kpis() -> Response:
    """The programme's targets and where it stands."""
    api_user(Role.COORDINATOR)
    return _json(KpisOut.model_validate(stats.kpis()))
