"""The API's shapes: request bodies beyond app.schemas, every response, and the OpenAPI document.

Sign-up and token bodies are app.schemas' own models (the rules of the HTML forms); the bodies
below only carry what the decision services check themselves. Responses are pydantic models too,
and the views build their JSON through them, so the document generated here from the same classes
cannot drift from what is validated or sent.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from app.models import MatchStatus
from app.schemas import (
    ID_MAX,
    ActivityIn,
    CheckInIn,
    ConsentIn,
    Credentials,
    ExportStatusIn,
    Id,
    KickoffIn,
    KickoffPick,
    MatchFilterIn,
    MessageIn,
    SMESignup,
    StudentSignup,
)
from app.services.decisions import DECLINE_REASONS, REASON_MAX

PAGE_MAX = 100_000
PER_PAGE_MAX = 100
PER_PAGE_DEFAULT = 20


class _Body(BaseModel):
    # Unknown keys are ignored, as in app.schemas: `role`, `status`, `approved`... change nothing.
    model_config = ConfigDict(extra="ignore")


def _decline_reason(value: str) -> str:
    if value and value not in DECLINE_REASONS:
        raise PydanticCustomError("unknown_code", "unknown code {code}", {"code": value[:40]})
    return value


# What decisions._reason_text refuses: control characters below U+0020 but tab and line breaks.
NOTE_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f]*$"
Note = Annotated[str, Field(max_length=REASON_MAX, json_schema_extra={"pattern": NOTE_PATTERN})]
FILLED = "\\S"  # more than whitespace (the service strips)


def _requires(flag: str, value: Any, field: str, rule: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema's if/then: when `flag` is `value`, `field` is required and follows `rule`."""
    return {
        "if": {"properties": {flag: {"const": value}}, "required": [flag]},
        "then": {"properties": {field: rule}, "required": [field]},
    }


class DecisionIn(_Body):
    """The student's or the SME's answer to a proposal; declining needs a reason code."""

    model_config = ConfigDict(
        json_schema_extra=_requires("decision", "decline", "reason", {"enum": [*DECLINE_REASONS]})
    )

    decision: Annotated[
        str, Field(max_length=20, json_schema_extra={"enum": ["accept", "decline"]})
    ]
    reason: Annotated[
        str,
        Field(max_length=40, json_schema_extra={"enum": ["", *DECLINE_REASONS]}),
        AfterValidator(_decline_reason),
    ] = ""
    note: Note = ""


class ApproveIn(_Body):
    """A coordinator's approval; a reason overrides a missing acceptance."""

    override_reason: Note = ""


class RejectIn(_Body):
    reason: Note = ""


class PairIn(_Body):
    """A coordinator's pair made by hand; `override` skips the cycle's rules and needs a reason."""

    model_config = ConfigDict(
        json_schema_extra=_requires("override", True, "reason", {"pattern": FILLED})
    )

    student_id: Id
    sme_id: Id
    reason: Note = ""
    override: bool = False


class PageQuery(_Body):
    page: Annotated[int, Field(ge=1, le=PAGE_MAX)] = 1
    per_page: Annotated[int, Field(ge=1, le=PER_PAGE_MAX)] = PER_PAGE_DEFAULT


class MatchQuery(PageQuery, MatchFilterIn):
    """A page of matches, narrowed by the coordinators' page's own filters (app.schemas)."""


# --- responses ------------------------------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorDetail(_Out):
    code: str = Field(examples=["invalid"])
    message: str
    fields: dict[str, list[str]] = Field(
        description="Messages by dotted field name (e.g. `languages.0.code`), in the reader's "
        "language (Accept-Language)."
    )


class ErrorOut(_Out):
    error: ErrorDetail


class TermOut(_Out):
    code: str
    name_en: str
    name_ko: str


class TaxonomyOut(_Out):
    languages: list[TermOut]
    levels: list[TermOut]
    countries: list[TermOut]
    industries: list[TermOut]
    regions: list[TermOut]
    visa_types: list[TermOut]
    degree_levels: list[TermOut] = Field(
        description="A student's programme of study (the visa rules depend on it)."
    )
    ksic_sections: list[TermOut] = Field(
        description="The 21 sections (대분류) of the Korean Standard Industrial Classification, "
        "A-U; C is manufacturing, F construction."
    )


class SignupOut(_Out):
    id: int = Field(description="The new account's id.")
    profile_id: int = Field(description="The student's or SME's id, as used in matches.")


class TokenOut(_Out):
    id: int
    token: str = Field(description="Shown once: only its hash is kept.")
    expires_at: datetime


class TokenInfoOut(_Out):
    id: int
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None


class LanguageSkillOut(_Out):
    code: str
    level: str


class StudentOut(_Out):
    id: int
    name: str
    nationality: str
    languages: list[LanguageSkillOut]
    topik_level: int
    university: str
    major: str
    markets: list[str]
    industries: list[str]
    regions: list[str]
    hours_per_week: int
    available_from: date | None
    available_until: date | None
    visa: str
    degree_level: str | None
    year_of_study: int | None
    expected_graduation: str | None = Field(description="YYYY-MM", examples=["2027-02"])
    in_korea_since: str | None = Field(description="YYYY-MM", examples=["2025-03"])
    bio: str | None
    paused: bool
    has_cv: bool


class SMEOut(_Out):
    id: int
    contact_name: str
    company_name: str = Field(
        description="In the reader's language (Accept-Language), else the other one."
    )
    company_name_ko: str | None
    company_name_en: str | None
    business_number: str
    industries: list[str]
    products: str = Field(description="In the reader's language, else the other one.")
    products_ko: str | None
    products_en: str | None
    markets: list[str]
    languages_needed: list[str]
    region: str
    capacity: int
    exporting: bool
    min_topik: int
    ksic_section: str | None
    hours_needed: int = Field(description="Weekly hours the SME needs; 0 means flexible.")
    period_start: date | None
    period_end: date | None
    description: str | None
    description_ko: str | None
    description_en: str | None


class ConsentOut(_Out):
    policy_version: str
    collection: bool
    provision_to_smes: bool
    given_at: datetime


class MeOut(_Out):
    id: int
    email: str
    role: Literal["student", "sme", "coordinator"]
    locale: str | None
    created_at: datetime
    consent: ConsentOut | None
    student: StudentOut | None
    sme: SMEOut | None


class ReasonOut(_Out):
    factor: str
    key: str
    params: dict[str, Any]
    weight: float
    detail: str = Field(description="The reason as a sentence in the reader's language.")


class BlockOut(_Out):
    code: str = Field(examples=["visa.hours"])
    params: dict[str, Any] = Field(
        description='What the rule compared, e.g. `{"hours_needed": 20, "max_hours": 10}`.'
    )
    message: str = Field(description="Why, as a sentence in the reader's language.")


class PairCheckOut(_Out):
    """Any pair, proposed or not, as the next cycle would see it."""

    acceptable: bool = Field(description="Whether a cycle could propose it (nothing blocks it).")
    score: Annotated[float, Field(ge=0, le=1)] = Field(
        description="The combined score, the same as in a cycle (scores do not depend on the pool)."
    )
    student_view: float
    sme_view: float
    reasons: list[ReasonOut]
    blocked: list[str] = Field(
        description="Codes of the rules that make the pair unacceptable, sorted: "
        "`visa.manufacturing_topik`, `visa.hours`, `visa.construction`, `visa.sector`, "
        "`visa.workplaces`, `visa.d4_too_early`, `period.no_overlap`, "
        "`no_common_language_or_market`, `topik.below_minimum`, `declined_before`. Empty when "
        "acceptable."
    )
    blocks: list[BlockOut] = Field(description="The same codes with their parameters and words.")
    rules_version: str = Field(
        description="The visa rule table applied (guidance the programme must confirm)."
    )


Decision = Literal["accept", "decline"] | None


class MatchOut(_Out):
    id: int
    cycle: int | None = Field(description="The cycle that proposed it; null for a hand-made pair.")
    student_id: int
    sme_id: int
    score: Annotated[float, Field(ge=0, le=1)]
    reasons: list[ReasonOut]
    status: MatchStatus
    student_decision: Decision
    sme_decision: Decision
    created_at: datetime
    updated_at: datetime


class CycleOut(_Out):
    id: int
    url: str  # where to poll this record
    status: Literal["queued", "running", "finished", "failed"]
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    duration_seconds: float | None
    mode: str
    candidates_k: int
    # Flat {factor: weight}, or two-sided {"sme_view": {...}, "student_view": {...}} once learned
    # weights were adopted.
    weights: dict[str, float] | dict[str, dict[str, float]]
    n_students: int
    n_smes: int
    n_seats: int
    n_excluded: int
    n_expired: int
    n_proposed: int
    total_score: float | None
    placed_share: float | None
    blocking_pairs: int | None
    n_skipped: int  # proposals the save left out: the pool changed while the engine ran
    scheduled_for: datetime | None  # a scheduled run: when it was due
    attempt: int  # a scheduled run: 1, or which retry after a failure
    error: str | None


class SideWeights(_Out):
    """Criterion weights per view; each side sums to 1."""

    sme_view: dict[str, float]
    student_view: dict[str, float]


class ModelReportOut(_Out):
    """One training run. `weights` are the suggestion (learned where better, else current);
    `auc` the held-out ROC AUC per side of the current and the learned weights; `report` every
    figure (log loss, Brier, reliability bins, answers used)."""

    id: int
    created_at: datetime
    weights: SideWeights
    current_weights: SideWeights
    better: bool
    auc: dict[str, dict[str, float | None]]
    n_answers: int
    report: dict[str, Any]


class ModelOut(_Out):
    """The weights the next cycle runs with, and what the model has learnt so far."""

    weights: SideWeights
    source: Literal["adopted", "settings"]
    n_answers: dict[str, int]
    min_decisions: int
    needed: int
    latest_report: ModelReportOut | None


class AdoptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    report_id: Annotated[int, Field(ge=1, le=2**31 - 1)]


class AdoptionOut(_Out):
    id: int
    adopted_at: datetime
    kind: str
    report_id: int | None
    weights: SideWeights


class _Page(_Out):
    total: Annotated[int, Field(ge=0)]
    page: Annotated[int, Field(ge=1)]
    per_page: Annotated[int, Field(ge=1, le=PER_PAGE_MAX)]


class MatchList(_Page):
    items: list[MatchOut]


class CycleList(_Page):
    items: list[CycleOut]


class TokenList(_Page):
    items: list[TokenInfoOut]


# --- after the match ------------------------------------------------------------------------------


class StudentContactOut(_Out):
    name: str
    email: str
    phone: str | None
    messenger: str | None


class SMEContactOut(_Out):
    contact_name: str
    company_name: str
    email: str
    phone: str | None
    address: str | None


class ContactOut(_Out):
    student: StudentContactOut
    sme: SMEContactOut


class MatchDetailOut(MatchOut):
    contact: ContactOut | None = Field(
        description="Both parties' contact details once the match is approved (and while the "
        "student consents to provision); null before."
    )


class MessageOut(_Out):
    id: int
    author_role: Literal["student", "sme", "coordinator"]
    mine: bool
    body: str
    has_attachment: bool
    read_by_other: bool = Field(description="The other party has read it (my messages).")
    created_at: datetime


class MessageList(_Page):
    items: list[MessageOut]
    unread: Annotated[int, Field(ge=0)] = Field(description="Unread before this call.")


class ActivityOut(_Out):
    id: int
    kind: str
    date: date
    hours: float
    note: str
    status: Literal["logged", "confirmed", "disputed"]
    week_hours: float = Field(description="Hours logged in the entry's week, this one included.")
    weekly_limit: int = Field(description="The most hours a week the student may work.")


class CheckInOut(_Out):
    id: int
    side: Literal["student", "sme"]
    period: str = Field(description="The month, YYYY-MM (Korea time).")
    satisfaction: Annotated[int, Field(ge=1, le=5)]
    hours: float
    blockers: str


class SlotOut(_Out):
    starts_at: datetime
    place: str


class KickoffOut(_Out):
    slots: list[SlotOut]
    chosen: int | None
    starts_at: datetime | None
    place: str | None
    match_status: MatchStatus


class ExportStatusOut(_Out):
    status: Literal["none", "first_export", "usd_100k", "usd_1m"]
    first_export_on: date | None
    markets: list[str]


class KpiTargetsOut(_Out):
    students_placed: int | None
    smes_first_export: int | None
    smes_usd_1m: int | None
    e7_conversions: int | None = Field(description="The plan sets no number: null.")


class KpisOut(_Out):
    students_placed: int
    smes_first_export: int
    smes_usd_1m: int
    e7_conversions: int
    targets: KpiTargetsOut


# --- the OpenAPI document -------------------------------------------------------------------------

REF = "#/components/schemas/{model}"
ERROR_TEXT = {
    400: "The body is not a JSON object.",
    401: "No valid bearer token (missing, unknown, expired or revoked), or wrong credentials.",
    403: "This role may not do this; or (code `consent_renewal_required`) the privacy policy "
    "changed and must be answered again with PUT /api/v1/me/consent.",
    404: "No such resource (or not one of yours).",
    409: "A conflict with the current state (taken, already decided, busy).",
    422: "A field breaks a rule; `error.fields` names each field.",
    429: "Too many requests; wait for `Retry-After` seconds.",
}


def _op(
    summary: str,
    ok: tuple[int, type[BaseModel] | None],
    errors: tuple[int, ...],
    *,
    body: type[BaseModel] | None = None,
    body_required: bool = True,
    auth: bool = True,
    query: type[BaseModel] | None = None,
    path_id: str | None = None,
    tag: str,
    consent_free: bool = False,
) -> dict[str, Any]:
    status, model = ok
    responses: dict[str, Any] = {}
    if model is None:
        responses[str(status)] = {"description": "Done."}
    else:
        responses[str(status)] = {
            "description": "OK" if status == 200 else "Created.",
            "content": {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}},
        }
    for code in errors:
        response: dict[str, Any] = {
            "description": ERROR_TEXT[code],
            "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorOut")}}},
        }
        if code == 429:
            response["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait.",
                    "schema": {"type": "integer", "minimum": 1},
                }
            }
        responses[str(code)] = response
    if auth and 403 not in errors and not consent_free:
        responses["403"] = {
            "description": ERROR_TEXT[403],
            "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorOut")}}},
        }
    operation: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "responses": responses,
        "security": [{"bearerAuth": []}] if auth else [],
    }
    parameters = []
    if path_id:
        parameters.append(
            {
                "name": path_id,
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": ID_MAX},
            }
        )
    if query is not None:
        parameters += _query_parameters(query)
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": {"$ref": REF.format(model=body.__name__)}}},
        }
    return operation


def _pair_check_operation() -> dict[str, Any]:
    operation = _op(
        "Why (not): any pair's acceptability, score, reasons and the rules that block it "
        "(coordinators). 404 for an unknown student or SME id.",
        (200, PairCheckOut),
        (401, 403, 404),
        tag="matches",
    )
    operation["parameters"] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": description,
            "schema": {"type": "integer", "minimum": 1, "maximum": ID_MAX},
        }
        for name, description in (
            ("student_id", "The student's id (`profile_id` at sign-up)."),
            ("sme_id", "The SME's id (`profile_id` at sign-up)."),
        )
    ]
    return operation


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    out = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        prop.pop("title", None)
        # An absent parameter is how a query says "null": only the non-null branch is sent.
        if "anyOf" in prop:
            branches = [b for b in prop.pop("anyOf") if b.get("type") != "null"]
            prop.pop("default", None)
            if len(branches) == 1:
                prop.update(branches[0])
            else:
                prop["anyOf"] = branches
        out.append({"name": name, "in": "query", "required": False, "schema": prop})
    return out


def _components(models: list[type[BaseModel]]) -> dict[str, Any]:
    """Every model's JSON Schema under components/schemas, with the $defs they share."""
    found: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template=REF)
        for name, definition in schema.pop("$defs", {}).items():
            found.setdefault(name, definition)
        found[model.__name__] = schema
    return found


OPERATION_IDS = {
    ("get", "/api/v1/openapi.json"): "getOpenapi",
    ("get", "/api/v1/taxonomy"): "getTaxonomy",
    ("post", "/api/v1/students"): "createStudent",
    ("post", "/api/v1/smes"): "createSme",
    ("post", "/api/v1/tokens"): "createToken",
    ("get", "/api/v1/tokens"): "listTokens",
    ("delete", "/api/v1/tokens/{token_id}"): "revokeToken",
    ("get", "/api/v1/me"): "getMe",
    ("delete", "/api/v1/me"): "deleteMe",
    ("put", "/api/v1/me/consent"): "renewConsent",
    ("get", "/api/v1/matches"): "listMatches",
    ("post", "/api/v1/matches"): "createMatch",
    ("post", "/api/v1/matches/{match_id}/decision"): "decideMatch",
    ("put", "/api/v1/matches/{match_id}/decision"): "changeDecision",
    ("get", "/api/v1/pairs/{student_id}/{sme_id}"): "checkPair",
    ("post", "/api/v1/matches/{match_id}/approve"): "approveMatch",
    ("post", "/api/v1/matches/{match_id}/reject"): "rejectMatch",
    ("post", "/api/v1/cycles"): "runCycle",
    ("get", "/api/v1/cycles"): "listCycles",
    ("get", "/api/v1/cycles/{cycle_id}"): "getCycle",
    ("get", "/api/v1/model"): "getModel",
    ("post", "/api/v1/model/train"): "trainModel",
    ("post", "/api/v1/model/adopt"): "adoptModel",
    ("get", "/api/v1/matches/{match_id}"): "getMatch",
    ("get", "/api/v1/matches/{match_id}/messages"): "listMessages",
    ("post", "/api/v1/matches/{match_id}/messages"): "postMessage",
    ("post", "/api/v1/matches/{match_id}/activities"): "logActivity",
    ("post", "/api/v1/matches/{match_id}/checkins"): "checkIn",
    ("post", "/api/v1/matches/{match_id}/kickoff"): "offerKickoff",
    ("post", "/api/v1/matches/{match_id}/kickoff/confirm"): "confirmKickoff",
    ("put", "/api/v1/smes/me/export-status"): "setExportStatus",
    ("get", "/api/v1/stats/kpis"): "getKpis",
}


def _name_operations(paths: dict[str, Any]) -> None:
    for path, methods in paths.items():
        for method, operation in methods.items():
            operation["operationId"] = OPERATION_IDS[(method, path)]


def _link(
    paths: dict[str, Any], path: str, method: str, status: str, links: dict[str, tuple[str, str]]
) -> None:
    """OpenAPI links: the id in this response is the path parameter of those operations."""
    paths[path][method]["responses"][status]["links"] = {
        name: {"operationId": target, "parameters": {param: "$response.body#/id"}}
        for name, (target, param) in links.items()
    }


def _after_the_match_paths() -> dict[str, Any]:
    """Contact, kickoff, messages, work log, check-ins, export status and the targets."""
    party = (400, 401, 404, 409, 422)
    return {
        "/api/v1/matches/{match_id}": {
            "get": _op(
                "One match, with both parties' contact details once approved (its student, "
                "its SME, coordinators).",
                (200, MatchDetailOut),
                (401, 404),
                path_id="match_id",
                tag="matches",
            )
        },
        "/api/v1/matches/{match_id}/messages": {
            "get": _op(
                "The match's messages, oldest first; reading moves my read mark (its parties "
                "and coordinators, after approval).",
                (200, MessageList),
                (401, 404, 409, 422),
                query=PageQuery,
                path_id="match_id",
                tag="after the match",
            ),
            "post": _op(
                "Send a plain-text message (rate-limited; a PDF can be attached on the page).",
                (201, MessageOut),
                (*party, 429),
                body=MessageIn,
                path_id="match_id",
                tag="after the match",
            ),
        },
        "/api/v1/matches/{match_id}/activities": {
            "post": _op(
                "Add a work-log entry (the student, while the match is active); refused past "
                "the weekly legal limit.",
                (201, ActivityOut),
                party,
                body=ActivityIn,
                path_id="match_id",
                tag="after the match",
            )
        },
        "/api/v1/matches/{match_id}/checkins": {
            "post": _op(
                "This month's check-in (each party, once a month, while active).",
                (201, CheckInOut),
                party,
                body=CheckInIn,
                path_id="match_id",
                tag="after the match",
            )
        },
        "/api/v1/matches/{match_id}/kickoff": {
            "post": _op(
                "Offer up to three meeting times (the SME, once approved; a time without an "
                "offset is Korea time).",
                (201, KickoffOut),
                party,
                body=KickoffIn,
                path_id="match_id",
                tag="after the match",
            )
        },
        "/api/v1/matches/{match_id}/kickoff/confirm": {
            "post": _op(
                "Pick one of the offered times (the student): the match becomes active.",
                (200, KickoffOut),
                party,
                body=KickoffPick,
                path_id="match_id",
                tag="after the match",
            )
        },
        "/api/v1/smes/me/export-status": {
            "put": _op(
                "My company's export status (SMEs).",
                (200, ExportStatusOut),
                (400, 401, 403, 422),
                body=ExportStatusIn,
                tag="after the match",
            )
        },
        "/api/v1/stats/kpis": {
            "get": _op(
                "The programme's targets and where it stands (coordinators).",
                (200, KpisOut),
                (401, 403),
                tag="stats",
            )
        },
    }


def openapi_document(server_url: str = "/") -> dict[str, Any]:
    """The OpenAPI 3.1 description of /api/v1, built from the models above and app.schemas."""

    anyone_body = (400, 409, 422, 429)
    paths: dict[str, Any] = {
        "/api/v1/openapi.json": {
            "get": {
                "summary": "This document.",
                "tags": ["meta"],
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/api/v1/taxonomy": {
            "get": _op(
                "Codes of languages, levels, countries, industries, regions and visa types.",
                (200, TaxonomyOut),
                (),
                auth=False,
                tag="meta",
            )
        },
        "/api/v1/students": {
            "post": _op(
                "Sign a student up (same fields and rules as the form).",
                (201, SignupOut),
                anyone_body,
                body=StudentSignup,
                auth=False,
                tag="accounts",
            )
        },
        "/api/v1/smes": {
            "post": _op(
                "Sign an SME up (same fields and rules as the form).",
                (201, SignupOut),
                anyone_body,
                body=SMESignup,
                auth=False,
                tag="accounts",
            )
        },
        "/api/v1/tokens": {
            "post": _op(
                "Exchange an email and password for a bearer token.",
                (201, TokenOut),
                (400, 401, 422, 429),
                body=Credentials,
                auth=False,
                tag="tokens",
            ),
            "get": _op(
                "My live tokens (never the secret).",
                (200, TokenList),
                (401, 422),
                query=PageQuery,
                tag="tokens",
                consent_free=True,
            ),
        },
        "/api/v1/tokens/{token_id}": {
            "delete": _op(
                "Revoke a token (its owner, or a coordinator).",
                (204, None),
                (401, 404),
                path_id="token_id",
                tag="tokens",
                consent_free=True,
            )
        },
        "/api/v1/me/consent": {
            "put": _op(
                "Answer the privacy policy in force (again): consent to collection and use "
                "(required) and to provision of the profile to SMEs. Open while consent is out "
                "of date, like DELETE /api/v1/me and the token calls.",
                (200, ConsentOut),
                (400, 401, 422),
                body=ConsentIn,
                tag="accounts",
                consent_free=True,
            )
        },
        "/api/v1/me": {
            "get": _op("My account and profile.", (200, MeOut), (401,), tag="accounts"),
            "delete": _op(
                "Delete my account and all my data, now.",
                (204, None),
                (401,),
                tag="accounts",
                consent_free=True,
            ),
        },
        "/api/v1/pairs/{student_id}/{sme_id}": {
            "get": _pair_check_operation(),
        },
        "/api/v1/matches": {
            "get": _op(
                "Matches: coordinators see all; students and SMEs their own.",
                (200, MatchList),
                (401, 422),
                query=MatchQuery,
                tag="matches",
            ),
            "post": _op(
                "Pair a student and an SME by hand (coordinators); 404 (naming the field) when "
                "`student_id` or `sme_id` is no one's.",
                (201, MatchOut),
                (400, 401, 403, 404, 409, 422),
                body=PairIn,
                tag="matches",
            ),
        },
        "/api/v1/matches/{match_id}/decision": {
            "post": _op(
                "Accept or decline a proposal (its student or SME).",
                (200, MatchOut),
                (400, 401, 404, 409, 422),
                body=DecisionIn,
                path_id="match_id",
                tag="matches",
            ),
            "put": _op(
                "Change an answer already given, until a coordinator acts on it (its student or "
                "SME): an acceptance becomes a decline, or a decline is undone and the pair "
                "proposed again with this side accepting; 409 once a coordinator or the other "
                "side has acted, or when the pair can no longer stand.",
                (200, MatchOut),
                (400, 401, 404, 409, 422),
                body=DecisionIn,
                path_id="match_id",
                tag="matches",
            ),
        },
        "/api/v1/matches/{match_id}/approve": {
            "post": _op(
                "Approve a proposal (coordinators); 409 if it is no longer pending.",
                (200, MatchOut),
                (400, 401, 403, 404, 409, 422),
                body=ApproveIn,
                body_required=False,
                path_id="match_id",
                tag="matches",
            )
        },
        "/api/v1/matches/{match_id}/reject": {
            "post": _op(
                "Reject a proposal (coordinators); 409 if it is no longer pending.",
                (200, MatchOut),
                (400, 401, 403, 404, 409, 422),
                body=RejectIn,
                body_required=False,
                path_id="match_id",
                tag="matches",
            )
        },
        "/api/v1/cycles": {
            "post": _op(
                "Ask for a matching cycle now (coordinators): 202 with its record, `status` "
                "`queued`; the scheduler process runs it within seconds (`running`, then "
                "`finished` or `failed`): poll `url` (also in `Location`). 409 while another "
                "cycle is queued or running.",
                (202, CycleOut),
                (401, 403, 409),
                tag="cycles",
            ),
            "get": _op(
                "Cycle history, newest first (coordinators).",
                (200, CycleList),
                (401, 403, 422),
                query=PageQuery,
                tag="cycles",
            ),
        },
        "/api/v1/cycles/{cycle_id}": {
            "get": _op(
                "One cycle's record (coordinators).",
                (200, CycleOut),
                (401, 403, 404),
                path_id="cycle_id",
                tag="cycles",
            )
        },
        "/api/v1/model": {
            "get": _op(
                "The weights in force per side and the latest training report (coordinators).",
                (200, ModelOut),
                (401, 403),
                tag="model",
            )
        },
        "/api/v1/model/train": {
            "post": _op(
                "Learn two-sided weights from the answers so far; adopts nothing "
                "(coordinators); 409 below MODEL_MIN_DECISIONS answers per side.",
                (201, ModelReportOut),
                (401, 403, 409),
                tag="model",
            )
        },
        "/api/v1/model/adopt": {
            "post": _op(
                "Use a report's weights from the next cycle (coordinators; audited).",
                (200, AdoptionOut),
                (400, 401, 403, 404, 422),
                body=AdoptIn,
                tag="model",
            )
        },
    }
    paths.update(_after_the_match_paths())
    _name_operations(paths)
    _link(paths, "/api/v1/tokens", "post", "201", {"RevokeToken": ("revokeToken", "token_id")})
    _link(
        paths,
        "/api/v1/matches",
        "post",
        "201",
        {
            "DecideMatch": ("decideMatch", "match_id"),
            "ApproveMatch": ("approveMatch", "match_id"),
            "RejectMatch": ("rejectMatch", "match_id"),
        },
    )
    _link(paths, "/api/v1/cycles", "post", "202", {"GetCycle": ("getCycle", "cycle_id")})
    models: list[type[BaseModel]] = [
        StudentSignup,
        SMESignup,
        Credentials,
        DecisionIn,
        ApproveIn,
        RejectIn,
        PairIn,
        ErrorOut,
        TaxonomyOut,
        SignupOut,
        TokenOut,
        TokenList,
        MeOut,
        MatchOut,
        MatchList,
        CycleOut,
        CycleList,
        AdoptIn,
        ModelOut,
        ModelReportOut,
        AdoptionOut,
        KickoffIn,
        KickoffPick,
        MessageIn,
        ActivityIn,
        CheckInIn,
        ExportStatusIn,
        MatchDetailOut,
        MessageOut,
        MessageList,
        ActivityOut,
        CheckInOut,
        KickoffOut,
        ExportStatusOut,
        KpisOut,
        ConsentIn,
        PairCheckOut,
        BlockOut,
    ]
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "K-Export Warrior Match API",
            "version": "1.0.0",
            "description": "Matches foreign students in Korea with Korean SMEs. Errors are "
            '`{"error": {"code", "message", "fields"}}`; messages follow Accept-Language '
            "(en, ko).",
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": _components(models),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from POST /api/v1/tokens.",
                }
            },
        },
    }
