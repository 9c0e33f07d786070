"""Coordinator pages for the programme's data: the dashboard and its numbers, CSV out and in, the
audit trail."""

from __future__ import annotations

import functools
from dataclasses import asdict
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from app.coordinators.common import bp, page_number
from app.coordinators.forms import ImportForm
from app.i18n import current_locale, error_messages
from app.services import audit, audit_words, checkins, directory, exports, imports, stats
from app.templating import RenderedRows
from app.transaction import reads_only
from app.web import rerender

# --- the programme ----------------------------------------------------------------------------


# The dashboard's figures as rendered (its funnel, cycle and breakdown tables and the charts'
# data: most of the page's CPU, issue 14), and its head (the ready card and the targets: HEADS),
# kept per process by everything they show. A few pages' worth: a new figure anywhere (a
# sign-up, an answer) is a new key.
FIGURES = RenderedRows(size=16)
HEADS = RenderedRows(size=16)


@bp.route("/")
@reads_only
def dashboard() -> str:
    """The programme at a glance: charts, with the same numbers as tables."""
    counts = stats.dashboard_counts()  # counted again only after a write to what it counts
    return render_template(
        "coordinators/dashboard.html",
        attention=checkins.needs_attention(),
        kept_figures=FIGURES,
        kept_head=HEADS,
        **_kept_parts(counts),
    )


def _kept_parts(counts: stats.DashboardCounts) -> dict[str, Any]:
    """The KPIs, and the keys and builders of the dashboard's two kept parts."""
    kpis = stats.kpis_of(counts)
    return {
        "kpis": kpis,
        # the page's head: the template adds how many proposals wait (the menu's count)
        "head_key": (
            current_locale(),
            request.script_root,
            "head",
            tuple((name, kpis[name]) for name in stats.TARGETS),
        ),
        "figures_key": _figures_key(counts),
        # the figures as the tables and charts show them: built only when they are drawn
        "figures": functools.partial(_figures, counts),
    }


def _figures_key(counts: stats.DashboardCounts) -> Any:
    """Everything the kept part of the dashboard shows: the figures as counted (numbers, codes
    and dates: the names it shows are the codes' in the reader's language), the language its
    words are in and where the app is mounted (its links)."""
    return (current_locale(), request.script_root, counts)


def _figures(counts: stats.DashboardCounts) -> tuple[stats.Programme, dict[str, Any], int]:
    return stats.programme_of(counts), stats.targets_of(counts), counts.seats


@bp.route("/stats.json")
def stats_json() -> Response:
    """The dashboard's numbers, for the charts (and for anyone who wants them as JSON)."""
    return jsonify({**stats.programme().as_json(), **stats.targets_json()})


@bp.route("/targets.csv")
def targets_csv() -> Response:
    """The programme's targets and the funnel per cycle and per cohort, as CSV."""
    audit.record("csv_exported", detail={"kind": "targets"})
    return _csv(stats.targets_csv(), "kexport-targets.csv")


def _csv(body: bytes | str, filename: str) -> Response:
    """A CSV download (UTF-8: the exports carry a BOM so Excel reads Korean)."""
    return Response(
        body,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f"attachment; filename={filename}",
            "Content-Type": "text/csv; charset=utf-8",
        },
    )


# --- CSV out and in ---------------------------------------------------------------------------


@bp.route("/export/<kind>.csv")
def export_csv(kind: str) -> Response:
    """Students, SMEs or matches as CSV (UTF-8 with a BOM, so Excel reads Korean)."""
    if kind not in exports.KINDS:
        abort(404)
    body, count = exports.csv_bytes(kind)
    audit.record("csv_exported", detail={"kind": kind, "rows": count})
    return _csv(body, f"kexport-{kind}.csv")


@bp.route("/smes/import", methods=["GET", "POST"])
def import_smes() -> Response | str | tuple[str, int]:
    """Create SME accounts from a CSV: every row valid, or nothing written."""
    form = ImportForm()
    if not form.is_submitted():
        return render_template("coordinators/import.html", form=form, **_import_context())
    if not form.validate():
        abort(400)
    upload, confirmed = form.file.data, bool(form.consent_confirmed.data)
    try:
        created = imports.import_smes(_read(upload), current_user, consent_confirmed=confirmed)
    except imports.ImportRejected as rejected:
        context = _import_context()
        return rerender("coordinators/import.html", form, rejected, report=rejected.rows, **context)
    flash(ngettext("%(num)d SME imported.", "%(num)d SMEs imported.", len(created)), "success")
    return redirect(url_for(".smes"))


def _read(upload: Any) -> bytes:
    return upload.read() if upload else b""


def _import_context() -> dict[str, Any]:
    return {"columns": imports.COLUMNS, "valid_values": imports.valid_values}


@bp.route("/smes/import/template.csv")
def import_template() -> Response:
    """The file to fill in: the columns named in the reader's language, over their codes."""
    return _csv(imports.template_bytes(), "kexport-smes-template.csv")


# --- the audit trail --------------------------------------------------------------------------


@bp.route("/audit", endpoint="audit")
def audit_log() -> tuple[str, int] | str:
    """Who did what and when, newest first, filtered."""
    filters, refused = directory.AuditFilters.from_args(request.args)
    page = directory.page_of(directory.audit_query(filters), page_number(), per_page=50)
    field_errors = {f: " ".join(m) for f, m in error_messages(refused).items()} if refused else {}
    body = render_template(
        "coordinators/audit.html",
        page=page,
        filters=asdict(filters),
        raw=request.args,
        field_errors=field_errors,
        lines=audit_words.lines(page.items),
        actions=audit_words.action_choices(directory.audit_actions()),
    )
    return (body, 400) if field_errors else body
