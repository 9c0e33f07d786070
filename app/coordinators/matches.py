"""Coordinator pages for matches: the filtered list with bulk decisions, one match, pairing by hand,
and the students no SME fits yet."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from app.coordinators.common import bp, page_number
from app.coordinators.forms import BulkForm, MatchActionForm, PairForm
from app.extensions import db
from app.i18n import current_locale, error_messages
from app.models import Match
from app.services import audit, audit_words, decisions, directory, pairing
from app.services.errors import DomainError, InvalidInput
from app.services.explanations import reason_text
from app.templating import RenderedRows
from app.transaction import reads_only
from app.web import flash_refusal, rerender

# --- matches ----------------------------------------------------------------------------------


# The matches list's content as rendered (the filter form, the bulk form around the rows, the
# pagination), kept per process by everything it shows (`_list_key`): with its rows kept one by
# one (`PAGE_PARTS`), the page still spent most of its CPU on the words and menus around them,
# ~180 translations a render (issue 14). A few dozen lists: a list is ~40 KB.
LISTS = RenderedRows(size=48)


@bp.route("/matches")
@reads_only  # its audit row is written after the read (app.transaction)
def matches() -> str:
    """Every match, filtered, with bulk approve and reject."""
    filters = directory.MatchFilters.from_args(request.args)
    page = directory.listed_matches(filters, page_number())  # plain rows, not ORM objects
    shown_filters = asdict(filters)
    html = _render_list(page, shown_filters)
    audit.record("matches_listed", detail={"page": page.page, **shown_filters})
    return html


def _render_list(page: Any, shown_filters: dict[str, str]) -> str:
    """The list with its menus, the kept part looked up by everything it shows."""
    cycle_menu = directory.cycle_starts(50)
    return render_template(
        "coordinators/matches.html",
        page=page,
        filters=shown_filters,
        # Built only when the list is rendered, not when it is kept (~0.14 ms a request: the
        # form's fields and its CSRF field; the kept list gets the reader's token put back).
        new_bulk_form=BulkForm,
        cycles=cycle_menu,
        statuses=directory.MATCH_STATUSES,
        kept_list=LISTS,
        list_key=_list_key(page, shown_filters, cycle_menu),
    )


def _list_key(
    page: Any, filters: dict[str, str], cycle_menu: tuple[directory.CycleStart, ...]
) -> tuple[Any, ...]:
    """Everything the kept list shows: the language its words are in, where the app is mounted
    (its links), the filters chosen (the menus' choices, the bulk form's hidden fields, the
    pages' links), the cycles offered, the page's number, how many matches there are (and so
    how many pages), and every row as its own key holds it. The reader's CSRF token is put back
    each time."""
    return (
        current_locale(),
        request.script_root,
        tuple(filters.items()),
        cycle_menu,
        page.page,
        page.total,  # and so how many pages (25 a page)
        tuple(row.key for row in page.items),
    )


@bp.route("/matches/ready")
def ready() -> str:
    """Proposals both sides accepted, oldest first: the coordinator's queue, approved in bulk."""
    filters = directory.MatchFilters(status=directory.READY)
    page = directory.page_of(directory.match_query(filters), page_number())
    html = render_template("coordinators/ready.html", page=page, form=BulkForm(), filters={})
    audit.record("ready_listed", detail={"page": page.page})
    return html


@bp.route("/matches/bulk", methods=["POST"])
def bulk() -> Response:
    """Approve or reject the ticked proposals; say how many, and why the others were refused."""
    form = BulkForm()
    if not form.validate_on_submit():
        abort(400)
    action = request.form.get("action", "")
    try:
        result = decisions.bulk(action, _ticked(), current_user, reason=form.reason.data or "")
    except InvalidInput as error:
        # nothing ticked is a nudge, an unknown action a refusal
        flash_refusal(error, "warning" if "match_ids" in error.fields else "danger")
        return redirect(_bulk_back())
    _say_bulk_result(action, result)
    return redirect(_bulk_back())


def _ticked() -> list[int]:
    return [int(v) for v in request.form.getlist("match_ids") if pairing.id_of(v) is not None]


def _say_bulk_result(action: str, result: decisions.BulkResult) -> None:
    """How many were done, and each refusal with its reason."""
    if result.done:
        message = (
            ngettext("%(num)d match approved.", "%(num)d matches approved.", len(result.done))
            if action == "approve"
            else ngettext("%(num)d match rejected.", "%(num)d matches rejected.", len(result.done))
        )
        flash(message, "success")
    for match_id, error in sorted(result.refused.items()):
        reason = " ".join(m for messages in error_messages(error).values() for m in messages)
        flash(_("Match #%(id)s: %(reason)s", id=match_id, reason=reason), "warning")


def _bulk_back() -> str:
    """Where the bulk form came from: the queue, or the list with its filters."""
    if request.form.get("queue") == directory.READY:
        page = request.form.get("page", "")
        return url_for(".ready", page=page) if page.isdigit() else url_for(".ready")
    return url_for(".matches", **_filter_args())


def _filter_args() -> dict[str, Any]:
    """The list's filters, carried through the bulk form: the coordinator lands where they were."""
    names = [f.name for f in directory.MatchFilters.__dataclass_fields__.values()] + ["page"]
    return {n: request.form[n] for n in names if request.form.get(n)}


@bp.route("/matches/<int:match_id>", methods=["GET", "POST"])
def match(match_id: int) -> Response | str | tuple[str, int]:
    """One match: every reason, both decisions, its history; approve, reject, activate, complete."""
    match, form = db.get_or_404(Match, match_id), MatchActionForm()
    if not form.is_submitted():
        audit.record("match_viewed", target=match)
        return render_template("coordinators/match.html", form=form, **_match_context(match))
    action = request.form.get("action", "")
    if not form.validate() or action not in decisions.COORDINATOR_ACTIONS:
        abort(400)
    try:
        decisions.act(action, match_id, current_user, **_action_input(form))
    except DomainError as error:
        return rerender("coordinators/match.html", form, error, **_match_context(match))
    flash(_done_message(action), "success")
    return redirect(url_for(".match", match_id=match_id))


def _action_input(form: MatchActionForm) -> dict[str, str]:
    return {"reason": form.reason.data or "", "outcome": form.outcome.data or "none"}


def _done_message(action: str) -> str:
    return {
        "approve": _("The match is approved."),
        "override": _("The match is approved (override recorded)."),
        "reject": _("The match is rejected."),
        "activate": _("The match is now active."),
        "complete": _("The match is completed."),
    }[action]


def _match_context(match: Match) -> dict[str, Any]:
    reasons = sorted(match.reasons or [], key=lambda r: -r.get("weight", 0))
    return {
        "match": match,
        "reasons": [(r, reason_text(r)) for r in reasons],
        "history": audit_words.match_history(match.id),
        "outcomes": decisions.OUTCOMES,
        "decline_reasons": decisions.DECLINE_REASONS,
    }


@bp.route("/pair", methods=["GET", "POST"])
def pair() -> Response | str | tuple[str, int]:
    """Pair any student with any SME: search, preview the model's view of the pair, then create."""
    form = PairForm(formdata=request.form if request.method == "POST" else request.args)
    found = pairing.search(request.args.get("student_q"), request.args.get("sme_q"))
    chosen = (form.student_id.data, form.sme_id.data)
    try:
        if request.method == "POST":
            return _propose(form)
        if "preview" not in request.args and None in pairing.ids(*chosen):
            return _searched(form, found)
        return _previewed(form, found, pairing.preview(*chosen))
    except InvalidInput as error:
        shown = pairing.preview_if_any(*chosen)
        return rerender("coordinators/pair.html", form, error, preview=shown, **found)


def _propose(form: PairForm) -> Response:
    if not form.validate():
        abort(400)
    created = pairing.propose(
        form.student_id.data,
        form.sme_id.data,
        current_user,
        reason=form.reason.data or "",
        override=bool(form.override.data),
    )
    flash(_("The pair is proposed. Both sides are told and can accept or decline."), "success")
    return redirect(url_for(".match", match_id=created.id))


def _previewed(form: PairForm, found: dict[str, Any], preview: dict[str, Any]) -> str:
    audit.record("pair_previewed", target=preview["student"], detail={"sme_id": preview["sme"].id})
    return render_template("coordinators/pair.html", form=form, preview=preview, **found)


def _searched(form: PairForm, found: dict[str, Any]) -> str:
    """The search alone, before both sides are chosen."""
    counts = {"students": len(found["student_options"]), "smes": len(found["sme_options"])}
    audit.record("pair_searched", detail=counts)
    return render_template("coordinators/pair.html", form=form, **found)


@bp.route("/no-fit")
def no_fit() -> str:
    """Students for whom no SME is acceptable yet, their closest SMEs and what is missing."""
    return render_template("coordinators/no_fit.html", **pairing.no_fit())
