"""Every audit event in the reader's words: the ONE place they are worded.

The trail keeps stable codes (`csv_exported`, `{"page": 1, "market": ""}`, actor and target ids):
they are what a filter, an export or an investigator relies on. People read them here instead:
the action as a phrase, each detail as "label: value" with codes named (countries, industries,
statuses...) and empty filters left out, the actor and the target by name (one query per kind
of record for a whole page, never one per row). `tests/coordinators/test_audit_words.py` fails
when the code records an action or a detail key that is not worded here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.i18n import code_name, decision_label, status_label
from app.models import SME, AuditEvent, Match, Student, User
from app.services import match_settings
from app.services.decisions import DECLINE_REASONS, OUTCOMES
from app.services.explanations import block_text
from app.services.outcomes import LADDER, STUDENT_OUTCOMES


def _actions() -> dict[str, str]:
    return {
        "account_deleted": _("Account deleted"),
        "activity_confirmed": _("Work log entry confirmed by the company"),
        "activity_disputed": _("Work log entry disputed by the company"),
        "activity_file_downloaded": _("Work log file downloaded"),
        "activity_logged": _("Work logged"),
        "api_token_issued": _("API token issued"),
        "api_token_revoked": _("API token revoked"),
        "candidates_viewed": _("Candidates viewed"),
        "checkin_submitted": _("Monthly check-in sent"),
        "consent_changed": _("Consent changed"),
        "contact_updated": _("Contact details changed"),
        "contact_viewed": _("Contact details viewed"),
        "coordinator_created": _("Coordinator account created"),
        "csv_exported": _("CSV downloaded"),
        "cv_downloaded": _("CV downloaded"),
        "cv_removed": _("CV removed"),
        "cv_uploaded": _("CV uploaded"),
        "cycle_finished": _("Matching cycle finished"),
        "cycle_requested": _("Matching cycle requested"),
        "data_exported": _("Own data downloaded"),
        "email_verified": _("Email address confirmed"),
        "export_status_updated": _("Export status changed"),
        "forbidden": _("Page refused (no access)"),
        "hours_warning": _("Weekly hours warning"),
        "kickoff_confirmed": _("Kickoff meeting agreed"),
        "kickoff_offered": _("Kickoff times offered"),
        "login": _("Logged in"),
        "login_failed": _("Failed login"),
        "logout": _("Logged out"),
        "match_accept": _("Proposal accepted"),
        "match_activated": _("Work started"),
        "match_answer_changed": _("Answer changed"),
        "match_approved": _("Approved by a coordinator"),
        "match_completed": _("Match completed"),
        "match_decline": _("Proposal declined"),
        "match_paired": _("Paired by a coordinator"),
        "match_rejected": _("Not approved by a coordinator"),
        "match_viewed": _("Match viewed"),
        "matches_listed": _("Match list viewed"),
        "matches_withdrawn": _("Proposals withdrawn"),
        "message_file_downloaded": _("Message attachment downloaded"),
        "message_posted": _("Message sent"),
        "model_trained": _("Weights learned from the answers"),
        "pair_previewed": _("Pair previewed"),
        "pair_searched": _("People searched to pair"),
        "participation_paused": _("Participation paused"),
        "participation_resumed": _("Participation resumed"),
        "password_changed": _("Password changed"),
        "password_reset": _("Password reset"),
        "password_reset_requested": _("Password reset asked for"),
        "profile_updated": _("Profile changed"),
        "ready_listed": _("Ready-to-approve list viewed"),
        "retention_purge": _("Old accounts deleted (retention rule)"),
        "schedule_changed": _("Cycle schedule changed"),
        "settings_changed": _("Matching settings changed"),
        "shortlist_toggled": _("Shortlist changed"),
        "signup": _("Signed up"),
        "sme_imported": _("Company imported from CSV"),
        "sme_viewed": _("Company viewed"),
        "smes_imported": _("Companies imported from CSV"),
        "smes_listed": _("Company list viewed"),
        "student_outcome_recorded": _("Student's outcome recorded"),
        "student_viewed": _("Student viewed"),
        "students_listed": _("Student list viewed"),
        "verification_sent": _("Confirmation link sent"),
        "weights_adopted": _("Weights put in force"),
        "weights_kept": _("Suggested weights not adopted"),
    }


def action_text(action: str) -> str:
    """An audit action as a phrase; one recorded by code since retired keeps a readable form."""
    return _actions().get(action) or action.replace("_", " ").capitalize()


def action_choices(actions: Iterable[str]) -> list[tuple[str, str]]:
    """(code, phrase) for the filter's list, sorted by the phrase as the reader sees it."""
    return sorted(((a, action_text(a)) for a in actions), key=lambda pair: pair[1])


def decline_text(stored: str | None) -> str:
    """A decline as stored (`not_a_fit: the note`, or a code, or a note) in words."""
    text = (stored or "").strip()
    code, sep, note = text.partition(":")
    if code in DECLINE_REASONS:
        label = str(DECLINE_REASONS[code])
        return f"{label}: {note.strip()}" if sep and note.strip() else label
    return text


# --- details ---------------------------------------------------------------------------------


def _yes_no(value: Any) -> str:
    return _("yes") if value else _("no")


def _weights(value: Mapping[str, Any]) -> str:
    labels = _factor_labels()
    return ", ".join(
        f"{labels.get(k, k)} {v:g}" if isinstance(v, int | float) else f"{labels.get(k, k)} {v}"
        for k, v in value.items()
    )


def _factor_labels() -> dict[str, str]:
    return {
        "language": _("Language"),
        "market": _("Target market"),
        "industry": _("Industry"),
        "region": _("Region"),
        "korean": _("Korean ability"),
        "text": _("Profile texts"),
        "availability": _("Availability"),
    }


def _setting_value(name: str, value: Any) -> str:
    if name == "mode":
        return _("stable") if value == "stable" else _("optimal")
    if name in ("weights",) and isinstance(value, Mapping):
        return _weights(value)
    if name in ("sme_view", "student_view") and isinstance(value, Mapping):
        return _weights(value)
    if isinstance(value, Mapping):
        return "; ".join(f"{_setting_label(k)}: {_setting_value(k, v)}" for k, v in value.items())
    return str(value)


def _setting_label(name: str) -> str:
    return {
        "mode": _("Mode"),
        "weights": _("Weights"),
        "candidates_k": _("Candidates per student"),
        "expiry_days": _("Days to answer"),
        "learned_weights_dropped": _("Learned weights set aside"),
        "sme_view": _("Companies' side"),
        "student_view": _("Students' side"),
    }.get(name, name.replace("_", " "))


def _changes(before: Any, after: Any) -> str:
    """What changed between two settings, only the values that differ."""
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return f"{before} → {after}"
    parts = []
    for name in dict.fromkeys([*before, *after]):
        old, new = before.get(name), after.get(name)
        if old != new:
            shown_old = _setting_value(name, old) if old is not None else "—"
            shown_new = _setting_value(name, new) if new is not None else "—"
            parts.append(f"{_setting_label(name)}: {shown_old} → {shown_new}")
    return "; ".join(parts) or _("no change")


def _kind_label(value: Any) -> str:
    return {
        "students": _("students"),
        "smes": _("companies"),
        "matches": _("matches"),
        "targets": _("targets and funnel"),
        "report": _("a learned suggestion"),
        "rollback": _("an earlier set (roll-back)"),
        "defaults": _("the settings' own weights"),
        "template": _("the import template"),
    }.get(str(value), str(value))


def _side(value: Any) -> str:
    return {"student": _("the student"), "sme": _("the company")}.get(str(value), str(value))


def _trigger(value: Any) -> str:
    return {
        "manual": _("by hand"),
        "schedule": _("schedule"),
        "cli": _("command line"),
        "api": _("API"),
    }.get(str(value), str(value))


# Each detail key: its label, and how its value reads. None as the label: the value says it all.
_Detail = tuple[Callable[[], str] | None, Callable[[Any, "Names"], str]]


def _details() -> dict[str, _Detail]:
    plain: Callable[[Any, Names], str] = lambda v, n: str(v)  # noqa: E731
    number: Callable[[Any, Names], str] = lambda v, n: f"{v:,}" if isinstance(v, int) else str(v)  # noqa: E731

    def code(kind: str) -> Callable[[Any, Names], str]:
        return lambda v, n: code_name(kind, str(v))

    return {
        # list filters
        "page": (lambda: _("Page"), number),
        "q": (lambda: _("Name searched"), plain),
        "status": (lambda: _("Status"), lambda v, n: _status(v)),
        "cycle": (lambda: _("Cycle"), lambda v, n: f"#{v}"),
        "language": (lambda: _("Language"), code("languages")),
        "market": (lambda: _("Market"), code("countries")),
        "industry": (lambda: _("Industry"), code("industries")),
        "region": (lambda: _("Region"), code("regions")),
        "nationality": (lambda: _("Nationality"), code("countries")),
        "score_min": (lambda: _("Score at least"), plain),
        "api": (None, lambda v, n: _("through the API")),
        "n": (lambda: _("Shown"), number),
        # counts
        "rows": (lambda: _("Rows"), number),
        "count": (lambda: _("How many"), number),
        "students": (lambda: _("Students found"), number),
        "smes": (lambda: _("Companies found"), number),
        "accounts": (lambda: _("Accounts"), number),
        "proposed": (lambda: _("Proposed"), number),
        "expired": (lambda: _("Expired"), number),
        "skipped": (lambda: _("Left out"), number),
        "n_answers": (lambda: _("Answers learned from"), number),
        "slots": (lambda: _("Times offered"), number),
        "slot": (lambda: _("Time chosen"), lambda v, n: _("option %(n)s", n=int(v) + 1)),
        # what, who, how
        "kind": (lambda: _("What"), lambda v, n: _kind_label(v)),
        "side": (lambda: _("By"), lambda v, n: _side(v)),
        "answer": (lambda: _("New answer"), lambda v, n: decision_label(str(v))),
        "by": (None, lambda v, n: _("after the kickoff meeting was agreed")),
        "trigger": (lambda: _("Started"), lambda v, n: _trigger(v)),
        "mode": (lambda: _("Mode"), lambda v, n: _setting_value("mode", v)),
        "role": (lambda: _("Role"), lambda v, n: _role(v)),
        "reason": (lambda: _("Reason"), lambda v, n: _reason(v)),
        # A reason when approving over the acceptances; a yes/no when pairing by hand.
        "override": (None, lambda v, n: _override(v)),
        "outcome": (lambda: _("Outcome"), lambda v, n: _outcome(v)),
        "blocked": (
            lambda: _("Rules overridden"),
            lambda v, n: " ".join(block_text(c) for c in v or []),
        ),
        "sme_id": (lambda: _("Company"), lambda v, n: n.sme(v)),
        "match_id": (lambda: _("Match"), lambda v, n: n.match(v)),
        "owner_id": (lambda: _("Token of"), lambda v, n: n.user(v)),
        "path": (lambda: _("Address"), plain),
        "email_hash": (None, lambda v, n: _("unknown email address")),
        "provision_to_smes": (
            lambda: _("Profile may be given to companies"),
            lambda v, n: _yes_no(v),
        ),
        "shortlisted": (lambda: _("Shortlisted"), lambda v, n: _yes_no(v)),
        "better": (lambda: _("Better than the weights in force"), lambda v, n: _yes_no(v)),
        "attachment": (lambda: _("With a file"), lambda v, n: _yes_no(v)),
        "from": (lambda: _("From"), lambda v, n: str(LADDER.get(v, v))),
        "to": (lambda: _("To"), lambda v, n: str(LADDER.get(v, v))),
        "export_status": (lambda: _("Export status"), lambda v, n: str(LADDER.get(v, v))),
        "contracts": (lambda: _("Export contracts"), number),
        "week": (lambda: _("Week of"), plain),
        "hours": (lambda: _("Hours"), number),
        "period": (lambda: _("Month"), plain),
        "satisfaction": (lambda: _("Satisfaction"), lambda v, n: _("%(n)s of 5", n=v)),
        "line": (lambda: _("Line"), number),
        "consent": (None, lambda v, n: _("consent confirmed by the coordinator")),
        "policy": (lambda: _("Privacy policy"), plain),
        # ids of records whose page says more than their number
        "activity_id": (None, lambda v, n: ""),
        "message_id": (None, lambda v, n: ""),
        "report_id": (lambda: _("Suggestion"), lambda v, n: f"#{v}"),
        "rolled_back_to": (lambda: _("Back to set"), lambda v, n: f"#{v}"),
    }


def _override(value: Any) -> str:
    if isinstance(value, bool):
        return _("paired despite the cycle's rules") if value else ""
    return _("Override reason: %(reason)s", reason=value)


def _status(value: Any) -> str:
    return _("Ready to approve") if value == "ready" else status_label(str(value))


def _role(value: Any) -> str:
    return {
        "student": _("student"),
        "sme": _("company"),
        "coordinator": _("coordinator"),
    }.get(str(value), str(value))


def _reason(value: Any) -> str:
    return {"self": _("asked by the person"), "retention": _("retention rule")}.get(
        str(value), decline_text(str(value))
    )


def _outcome(value: Any) -> str:
    labels = {**OUTCOMES, **STUDENT_OUTCOMES}
    return str(labels.get(str(value), value))


def worded_actions() -> frozenset[str]:
    return frozenset(_actions())


def worded_detail_keys() -> frozenset[str]:
    return frozenset(_details()) | {"before", "after"}


def detail_parts(action: str, detail: Mapping[str, Any] | None, names: Names) -> list[str]:
    """Each detail as "label: value" in words; empty values (filters not used) left out."""
    if not detail:
        return []
    if action == "schedule_changed":
        return [
            _(
                "%(before)s → %(after)s",
                before=match_settings.schedule_words(detail.get("before")),
                after=match_settings.schedule_words(detail.get("after")),
            )
        ]
    if "before" in detail or "after" in detail:
        rest = {k: v for k, v in detail.items() if k not in ("before", "after")}
        return [
            *detail_parts(action, rest, names),
            _changes(detail.get("before"), detail.get("after")),
        ]
    table = _details()
    parts = []
    for key, value in detail.items():
        if value in (None, "", [], {}):
            continue
        label, show = table.get(key, (lambda k=key: k.replace("_", " "), lambda v, n: str(v)))
        shown = show(value, names)
        if not shown:
            continue
        parts.append(f"{label()}: {shown}" if label else shown)
    return parts


# --- names instead of ids --------------------------------------------------------------------


@dataclass
class Names:
    """The people and records a page of the trail mentions, loaded at once (one query each)."""

    users: dict[int, User] = field(default_factory=dict)
    students: dict[int, Student] = field(default_factory=dict)
    smes: dict[int, SME] = field(default_factory=dict)
    matches: dict[int, Match] = field(default_factory=dict)

    @classmethod
    def of(cls, events: Iterable[AuditEvent]) -> Names:
        events = list(events)
        ids: dict[str, set[int]] = {"user": set(), "student": set(), "sme": set(), "match": set()}
        for e in events:
            if e.actor_id:
                ids["user"].add(e.actor_id)
            if e.target_type in ids and e.target_id:
                ids[e.target_type].add(e.target_id)
            detail = e.detail or {}
            for key, kind in (("sme_id", "sme"), ("match_id", "match"), ("owner_id", "user")):
                if isinstance(detail.get(key), int):
                    ids[kind].add(detail[key])
        return cls(
            users=_load(User, ids["user"], joinedload(User.student), joinedload(User.sme)),
            students=_load(Student, ids["student"]),
            smes=_load(SME, ids["sme"]),
            matches=_load(Match, ids["match"], joinedload(Match.student), joinedload(Match.sme)),
        )

    def user(self, user_id: Any) -> str:
        user = self.users.get(user_id) if isinstance(user_id, int) else None
        if user is None:
            return _("a deleted account")
        if user.student is not None:
            return user.student.name
        if user.sme is not None:
            return user.sme.company_name
        return user.email

    def sme(self, sme_id: Any) -> str:
        sme = self.smes.get(sme_id) if isinstance(sme_id, int) else None
        return sme.company_name if sme else _("a deleted company")

    def match(self, match_id: Any) -> str:
        match = self.matches.get(match_id) if isinstance(match_id, int) else None
        if match is None:
            return _("a deleted match")
        return _("%(student)s and %(sme)s", student=match.student.name, sme=match.sme.company_name)


def _load(model: Any, ids: set[int], *options: Any) -> dict[int, Any]:
    if not ids:
        return {}
    rows = db.session.scalars(select(model).options(*options).where(model.id.in_(ids))).unique()
    return {row.id: row for row in rows}


@dataclass(frozen=True)
class Line:
    """One entry of the trail as a person reads it."""

    event: AuditEvent
    action: str
    actor: str
    actor_role: str
    actor_url: str | None
    target: str
    target_url: str | None
    details: list[str]


def _target(event: AuditEvent, names: Names) -> tuple[str, str | None]:
    kind, target_id = event.target_type, event.target_id
    if not kind:
        return "", None
    if kind == "match" and target_id:
        return _("Match: %(pair)s", pair=names.match(target_id)), url_for(
            "coordinators.match", match_id=target_id
        )
    if kind == "student" and target_id:
        student = names.students.get(target_id)
        label = student.name if student else _("a deleted student")
        return _("Student: %(name)s", name=label), url_for(
            "coordinators.student", student_id=target_id
        )
    if kind == "sme" and target_id:
        return _("Company: %(name)s", name=names.sme(target_id)), url_for(
            "coordinators.sme", sme_id=target_id
        )
    if kind == "user" and target_id:
        return _("Account: %(name)s", name=names.user(target_id)), None
    return {
        "matchcycle": _("Matching cycle #%(id)s", id=target_id),
        "matchsettings": _("Matching settings"),
        "apitoken": _("API token"),
        "modelreport": _("Learned weights suggestion #%(id)s", id=target_id),
        "weightadoption": _("Weights in force (change #%(id)s)", id=target_id),
    }.get(kind, kind), None


def lines(events: Iterable[AuditEvent]) -> list[Line]:
    """A page of the trail in words: every name loaded in one query per kind of record."""
    events = list(events)
    names = Names.of(events)
    out = []
    for e in events:
        target, target_url = _target(e, names)
        actor = names.user(e.actor_id) if e.actor_id else ""
        out.append(
            Line(
                event=e,
                action=action_text(e.action),
                actor=actor,
                actor_role=_role(e.actor_role) if e.actor_role else "",
                actor_url=url_for("coordinators.audit", actor_id=e.actor_id)
                if e.actor_id
                else None,
                target=target,
                target_url=target_url,
                details=detail_parts(e.action, e.detail, names),
            )
        )
    return out


def init_template_helpers(app: Any) -> None:
    app.jinja_env.globals.update(
        action_label=action_text,
        decline_text=decline_text,
        schedule_words=match_settings.schedule_words,
        schedule_picked=lambda expression: match_settings.picked(expression) is not None,
    )


def match_history(match_id: int) -> list[Line]:
    """A match's own entries of the trail, oldest first, in words."""
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.target_type == "match", AuditEvent.target_id == match_id)
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    return lines(events)
