"""`flask` commands: each one unit of work around one service call."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import select
from werkzeug.serving import run_simple

from app.config import listening_url
from app.extensions import db
from app.i18n import translate_errors
from app.jobs import configure_scheduler, make_scheduler
from app.models import Match
from app.services import accounts, backup, demo, learned_weights
from app.services.cycles import CycleBusy, run_cycle
from app.services.errors import InvalidInput
from app.services.explanations import top_reasons


def init_cli(app: Flask) -> None:
    app.cli.add_command(create_coordinator)
    app.cli.add_command(seed_demo)
    app.cli.add_command(serve)
    app.cli.add_command(match)
    app.cli.add_command(model)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


@click.command("create-coordinator")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_coordinator(email: str, password: str) -> None:
    """Create a coordinator account (there is no default one)."""
    try:
        user = accounts.create_coordinator(email, password)
    except InvalidInput as error:
        with current_app.test_request_context():
            for field, messages in translate_errors(error.fields).items():
                click.echo(f"{field}: {' '.join(messages)}", err=True)
        raise SystemExit(2) from None
    db.session.commit()
    click.echo(f"Coordinator {user.email} created.")


@click.command("seed-demo")
@click.option("--students", default=150, show_default=True, type=click.IntRange(0, 200_000))
@click.option("--smes", default=70, show_default=True, type=click.IntRange(0, 100_000))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has users.")
@click.option("--logins-file", type=click.Path(dir_okay=False), help="Also write the logins here.")
@click.option(
    "--answer-cycles",
    default=5,
    show_default=True,
    type=click.IntRange(0, 20),
    help="Run this many cycles and answer the proposals from hidden preferences.",
)
def seed_demo(
    students: int,
    smes: int,
    seed: int,
    if_empty: bool,
    logins_file: str | None,
    answer_cycles: int,
) -> None:
    """Load realistic demo data, the same for the same seed."""
    if if_empty and not demo.is_empty():
        click.echo("The database already has data; no demo data loaded.")
        return
    result = demo.seed(students=students, smes=smes, seed=seed, journey=True)
    db.session.commit()
    if answer_cycles:
        answered = demo.simulate_answers(cycles=answer_cycles, seed=seed)
        click.echo(
            f"Simulated {answer_cycles} cycles of answers: {answered['sme_view']} from SMEs, "
            f"{answered['student_view']} from students."
        )
    lines = [
        f"  {role:<12} {email}   password: {password}" for role, email, password in result.logins
    ]
    click.echo(f"Demo data: {result.students} students, {result.smes} SMEs.")
    click.echo("Demo logins:\n" + "\n".join(lines))
    if logins_file:
        with open(logins_file, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        os.chmod(logins_file, 0o600)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--scheduler/--no-scheduler", default=True, show_default=True)
def serve(host: str, port: int, scheduler: bool) -> None:
    """Development server for `make run`: one process, with the one scheduler inside."""

    _log_to_console()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not os.environ.get("PUBLIC_URL"):
        # Emailed links follow the port this server listens on (`make run PORT=8080`),
        # never a default port where nothing runs.
        app.config["PUBLIC_URL"] = listening_url(host, port)
    click.echo(f"Links in emails point at {app.config['PUBLIC_URL']}")
    background = None
    if scheduler:
        background = make_scheduler(background=True)
        configure_scheduler(background, app)
        background.start()
    try:
        # No reloader: it forks a second process, and each would run its own scheduler.
        # (app.run() is a no-op inside a `flask` command, hence werkzeug's server directly.)

        run_simple(host, port, app, use_reloader=False, use_debugger=False, threaded=True)
    finally:
        if background:
            background.shutdown(wait=False)


@click.group("match")
def match() -> None:
    """Matching cycles."""


@match.command("run")
def match_run() -> None:
    """Run one matching cycle now and print what it proposed."""

    try:
        cycle = run_cycle(trigger="cli")
    except CycleBusy:
        click.echo("Another matching cycle is running; nothing done.", err=True)
        raise SystemExit(3) from None
    if cycle.status != "finished":
        click.echo(f"Cycle {cycle.id} failed: {cycle.error}", err=True)
        raise SystemExit(1)
    click.echo(
        f"Cycle {cycle.id} ({cycle.mode}): {cycle.n_students} students and {cycle.n_smes} SMEs "
        f"in the pool, {cycle.n_proposed} proposals, {cycle.n_expired} expired; "
        f"placed {cycle.placed_share:.0%}, blocking pairs {cycle.blocking_pairs}; "
        f"load {cycle.load_seconds:.2f}s, engine {cycle.engine_seconds:.2f}s, "
        f"save {cycle.save_seconds:.2f}s."
    )
    matches = db.session.scalars(
        select(Match).where(Match.cycle_id == cycle.id).order_by(Match.score.desc())
    )

    with current_app.test_request_context():  # worded in the default language, English
        for m in matches:
            why = "; ".join(top_reasons(m.reasons, n=None))[:160]
            click.echo(f"  {m.score:.3f}  {m.student.name} → {m.sme.company_name}  ({why})")


@click.group("model")
def model() -> None:
    """Weights learnt from people's answers."""


@model.command("train")
def model_train() -> None:
    """Learn two-sided weights from the answers so far and print the report (adopts nothing)."""
    try:
        report = learned_weights.train()
    except learned_weights.NotEnoughAnswers as error:
        counts = learned_weights.examples().counts()
        click.echo(
            f"Not enough answers to learn from ({error}): SMEs {counts['sme_view']}, students "
            f"{counts['student_view']}, minimum {learned_weights.min_decisions()} per side; "
            f"{error.needed} more needed.",
            err=True,
        )
        raise SystemExit(2) from None
    db.session.commit()
    click.echo(f"Report {report.id}: {report.n_answers} answers.")
    for side, label in (("sme_view", "SMEs' view"), ("student_view", "students' view")):
        body = report.report["sides"][side]
        cur, new = body["metrics"]["current"], body["metrics"].get("learned", {})
        click.echo(
            f"{label}: {body['n_answers']} answers ({body['n_train']} train, {body['n_test']} "
            f"held out, newest cycles); held-out ROC AUC current {cur['auc']:.3f}, learned "
            f"{(new.get('auc') or 0):.3f}; log loss {cur['log_loss']:.3f} / "
            f"{new.get('log_loss', float('nan')):.3f}; Brier {cur['brier']:.3f} / "
            f"{new.get('brier', float('nan')):.3f}; "
            + ("better: suggested." if body["better"] else "not better: keep the current weights.")
        )
        for factor, weight in body["suggested"].items():
            click.echo(f"    {factor:<9} {body['current'][factor]:.3f} -> {weight:.3f}")
    click.echo(
        "Nothing was adopted. A coordinator adopts on the Learned weights page or with "
        "POST /api/v1/model/adopt."
    )


@click.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduler in the foreground: the one process that runs matching cycles."""

    _log_to_console()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    blocking = make_scheduler(background=False)
    configure_scheduler(blocking, app)
    click.echo("Scheduler running; Ctrl+C stops it.")
    try:
        blocking.start()
    except (KeyboardInterrupt, SystemExit):
        pass


@click.command("backup")
@click.argument("destination", required=False, type=click.Path(file_okay=False, path_type=Path))
def backup_command(destination: Path | None) -> None:
    """Back up the database and the uploaded CVs into a new folder under DESTINATION."""

    target = destination or Path(current_app.instance_path) / "backups"
    try:
        report = backup.backup(target)
    except backup.BackupError as error:
        click.echo(f"Backup failed: {error}", err=True)
        raise SystemExit(1) from None
    click.echo(
        f"Backup written to {report.path}: {report.database} database and {report.files} "
        f"CV files, {report.bytes / 1e6:.1f} MB."
    )
    if report.missing_files:
        click.echo(
            f"Warning: {report.missing_files} CV files named by the database were already "
            "replaced or deleted when they were copied.",
            err=True,
        )


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite a database that already has users.")
def restore_command(source: Path, force: bool) -> None:
    """Restore a backup folder made by `flask backup` (stop the web and scheduler first)."""

    try:
        report = backup.restore(source, force=force)
    except backup.BackupError as error:
        click.echo(f"Restore failed: {error}", err=True)
        raise SystemExit(1) from None
    click.echo(
        f"Restored the {report['database']} backup of {report['created_at']} and "
        f"{report['files']} CV files. Run `flask db upgrade` if the code is newer than the backup."
    )


def _log_to_console() -> None:
    """Long-running commands say what the scheduler and the cycles do (INFO) on stderr."""

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
