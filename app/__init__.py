"""K-Export Warrior Match: the Flask application factory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l
from werkzeug.middleware.proxy_fix import ProxyFix

from app import (
    models,  # noqa: F401 - registers every table on the metadata
    templating,
)
from app.api import register_api
from app.auth.routes import bp as auth_bp
from app.cli import init_cli
from app.config import Config, TestConfig, config_for_environment
from app.coordinators import bp as coordinators_bp
from app.db_sqlite import configure_sqlite
from app.errors import init_error_handlers
from app.extensions import babel, csrf, db, login_manager, migrate
from app.i18n import init_template_helpers, names_for, select_locale
from app.main.routes import bp as main_bp
from app.matches.routes import bp as matches_bp
from app.security import init_security
from app.services import audit_words, clock, directory, explanations
from app.session_cookie import init_session_cookie
from app.sessions import load_user
from app.signing import init_csrf_token
from app.smes.routes import bp as smes_bp
from app.static_files import init_static_files
from app.students.routes import bp as students_bp
from app.transaction import init_transactions, sqlite_begin_mode
from app.web import App, AppRequest, IdConverter


def create_app(config: dict[str, Any] | type | None = None) -> Flask:
    """Build the application: a table of contents of register_* steps.

    `config` is a config class, or a dict of overrides on top of the environment's class.
    """
    app = App(__name__, instance_relative_config=True, template_folder="../templates")
    app.request_class = AppRequest
    configure(app, config)
    register_extensions(app)
    register_database_pragmas(app)
    register_i18n(app)
    register_security(app)
    register_transactions(app)  # after security: its response, if it makes one, gets the headers
    register_url_converters(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_template_helpers(app)
    register_cli(app)
    register_static_files(app)
    warm_up(app)  # last: every template global and filter is registered
    return app


def configure(app: Flask, config: dict[str, Any] | type | None) -> None:

    base: type[Config]
    if isinstance(config, type):
        base = config
    elif config and config.get("TESTING"):
        base = TestConfig
    else:
        base = config_for_environment()
    app.config.from_object(base)
    if isinstance(config, dict):
        app.config.update(config)
    app.config.setdefault("PASSWORD_HASH_METHOD", "scrypt")
    base.check(app.config)
    if app.config.get("PROXY_FIX") or _env_flag("PROXY_FIX"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]


def _env_flag(name: str) -> bool:

    return os.environ.get(name, "0") == "1"


def register_extensions(app: Flask) -> None:

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_project_root() / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    init_csrf_token(app)  # the token signed with a serializer kept per process
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    login_manager.login_message = _l("Please log in to see this page.")

    login_manager.user_loader(load_user)


def register_database_pragmas(app: Flask) -> None:

    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        configure_sqlite(engine, sqlite_begin_mode)


def register_transactions(app: Flask) -> None:
    """The request boundary commits (or rolls back) and sends mail after the commit."""

    init_transactions(app)


def register_i18n(app: Flask) -> None:

    babel.init_app(app, locale_selector=select_locale)


def register_security(app: Flask) -> None:

    init_security(app)
    init_session_cookie(app)  # the idle timeout's cookie, re-signed at most once a minute


def register_url_converters(app: Flask) -> None:
    """Before any route exists: every `<int:...>` is an id, bounded (app.web.IdConverter)."""

    app.url_map.converters["int"] = IdConverter


def register_blueprints(app: Flask) -> None:

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(students_bp, url_prefix="/student")
    app.register_blueprint(smes_bp, url_prefix="/sme")
    app.register_blueprint(coordinators_bp, url_prefix="/coordinator")
    app.register_blueprint(matches_bp, url_prefix="/matches")

    register_api(app)


def register_error_handlers(app: Flask) -> None:

    init_error_handlers(app)


def register_template_helpers(app: Flask) -> None:

    init_template_helpers(app)
    explanations.init_template_helpers(app)  # every reason and block code, worded
    clock.init_template_helpers(app)  # `korea_time`: times as people in the programme read them
    audit_words.init_template_helpers(app)  # every audit event, decline and schedule, worded
    templating.init_template_helpers(app)  # `url_pattern`: a row's URL built once per page
    # The coordinators' menu and dashboard show how many proposals wait for them (one COUNT).
    app.jinja_env.globals["ready_count"] = templating.once_per_request(directory.ready_count)


def register_cli(app: Flask) -> None:

    init_cli(app)


def register_static_files(app: Flask) -> None:
    """Last: WhiteNoise wraps the finished WSGI app (and any proxy fix) to answer /static/."""

    init_static_files(app)


def warm_up(app: Flask) -> None:
    """Production (`WARM_UP_AT_START`): what every page shares, built before the first request.

    A fresh worker's first candidates page took ~200 ms of CPU against ~7 ms for the next ones:
    compiling its eight templates, loading the taxonomy's tables (pycountry, CLDR) and naming
    every code in the reader's language. Under load, every request queued behind a fresh
    worker's first pages waited for that: most of the candidates page's p95 at 20 clients on two
    new workers (issue 14). Costs ~0.5 s of CPU once per worker, at start-up."""
    if not app.config.get("WARM_UP_AT_START"):
        return
    templating.compile_templates(app)
    for locale in app.config["LANGUAGES"]:
        names_for(locale)


def _project_root():  # type: ignore[no-untyped-def]

    return Path(__file__).resolve().parent.parent
