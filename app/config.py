"""Configuration: defaults here, secrets and deployment choices from the environment."""

from __future__ import annotations

import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


class ConfigError(RuntimeError):
    """The environment does not describe a runnable deployment."""


class Config:
    """Production defaults. Everything that differs per deployment comes from the environment."""

    ENV_NAME = "production"
    DEBUG = False
    TESTING = False
    SECRET_KEY: str | None = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'kexport.sqlite3'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    # `flask static build` writes fingerprinted, precompressed copies of app/static here; the app
    # serves them when it finds the manifest at start-up (app/static_files.py).
    STATIC_BUILD_DIR: str | None = os.environ.get(
        "STATIC_BUILD_DIR", str(INSTANCE_DIR / "static-build")
    )
    STATIC_MAX_AGE = int(os.environ.get("STATIC_MAX_AGE", 300))  # seconds, for unhashed names
    MAX_CONTENT_LENGTH = 6 * 1024 * 1024  # a 5 MB CV plus the form around it
    CV_MAX_BYTES = 5 * 1024 * 1024
    # Where people reach the platform: links in emails are built on it. Set it in production;
    # `flask serve` (and so `make run PORT=...`) without it uses the address it listens on.
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")
    MATCH_SCHEDULE = os.environ.get("MATCH_SCHEDULE", "0 6 * * mon")  # weekly, Monday 06:00
    # Answers each side must have given before the model may suggest weights (issue 10).
    MODEL_MIN_DECISIONS = int(os.environ.get("MODEL_MIN_DECISIONS", 100))
    SCHEDULER_TIMEZONE = os.environ.get("SCHEDULER_TIMEZONE", "Asia/Seoul")

    # Sessions: see SECURITY.md items 5 and 6.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "1") == "1"
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=int(os.environ.get("SESSION_IDLE_MINUTES", 60)))
    SESSION_ABSOLUTE_HOURS = int(os.environ.get("SESSION_ABSOLUTE_HOURS", 12))
    SESSION_REFRESH_EACH_REQUEST = True  # at most once a minute when unchanged (app.session_cookie)
    REMEMBER_COOKIE_HTTPONLY = True

    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead, which already expires
    WTF_I18N_ENABLED = True

    # Build what every page shares (compiled templates, every code's name) when the app is
    # built, before a worker takes its first request, not during its first pages while the
    # requests queued behind them wait (app.warm_up; issue 14).
    WARM_UP_AT_START = os.environ.get("WARM_UP_AT_START", "1") == "1"

    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "Asia/Seoul"
    LANGUAGES = ("en", "ko")
    BABEL_TRANSLATION_DIRECTORIES = str(Path(__file__).resolve().parent.parent / "translations")

    CONSENT_POLICY_VERSION = "2026-11-01"
    RETENTION_YEARS = 3

    MAIL_SERVER = os.environ.get("MAIL_SERVER")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", 25))
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "0") == "1"
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "K-Export Warrior Match <no-reply@kexport.example>")
    # How mail queued by a request is sent: "thread" (a per-process thread woken after the
    # commit: no request waits on SMTP), "inline" (in the request; tests), "off" (the
    # scheduler's mail job only).
    MAIL_AFTER_COMMIT = os.environ.get("MAIL_AFTER_COMMIT", "thread")

    # Sign-ups get a verification link; with this on, nobody unverified is put in a cycle.
    # Turn it off (0) where addresses are verified elsewhere (a university's own system).
    REQUIRE_EMAIL_VERIFICATION = os.environ.get("REQUIRE_EMAIL_VERIFICATION", "1") == "1"
    EMAIL_VERIFICATION_HOURS = int(os.environ.get("EMAIL_VERIFICATION_HOURS", 72))

    # Rate limits (SECURITY.md item 3), counted in the database so every worker counts the
    # same tries; each can be set from the environment (README: Configuration).
    # Failed logins per account, and per client address: the address limit is far higher, so
    # students behind one university network do not lock each other out.
    LOGIN_MAX_FAILURES = _int("LOGIN_MAX_FAILURES", 10)
    LOGIN_MAX_FAILURES_PER_ADDRESS = _int("LOGIN_MAX_FAILURES_PER_ADDRESS", 200)
    LOGIN_FAILURE_WINDOW = timedelta(minutes=_int("LOGIN_FAILURE_WINDOW_MINUTES", 15))

    # The JSON API's bearer tokens, and limits on asking for them and on signing up.
    API_TOKEN_DAYS = _int("API_TOKEN_DAYS", 30)
    API_TOKEN_LIMIT_PER_ACCOUNT = _int("API_TOKEN_LIMIT_PER_ACCOUNT", 10)  # per email ...
    API_TOKEN_LIMIT_PER_ADDRESS = _int("API_TOKEN_LIMIT_PER_ADDRESS", 30)  # ... per address ...
    API_TOKEN_LIMIT_WINDOW = timedelta(minutes=_int("API_TOKEN_LIMIT_WINDOW_MINUTES", 15))
    # Sign-ups (students and SMEs, HTML forms and the API together) per address in the window:
    # each one costs a scrypt hash.
    API_SIGNUP_LIMIT_PER_ADDRESS = _int("API_SIGNUP_LIMIT_PER_ADDRESS", 20)
    API_SIGNUP_LIMIT_WINDOW = timedelta(minutes=_int("API_SIGNUP_LIMIT_WINDOW_MINUTES", 60))
    # Messages in a match's thread, per person (pages and API together) within the window.
    MESSAGE_LIMIT = _int("MESSAGE_LIMIT", 30)
    MESSAGE_WINDOW = timedelta(minutes=_int("MESSAGE_WINDOW_MINUTES", 10))
    # Share of the legal weekly hours at which both sides of a match are warned.
    HOURS_WARNING_SHARE = 0.8

    @classmethod
    def check(cls, config: dict[str, Any]) -> None:
        if not config.get("SECRET_KEY"):
            raise ConfigError(
                "SECRET_KEY must be set outside development and tests "
                "(export SECRET_KEY=... or APP_ENV=development)."
            )
        if config.get("ENV_NAME") == "production" and "PUBLIC_URL" not in os.environ:
            # Not fatal (scripts run gunicorn locally), but every emailed link would be wrong.
            logging.getLogger("app").warning(
                "PUBLIC_URL is not set: links in emails point at %s", config.get("PUBLIC_URL")
            )


class DevelopmentConfig(Config):
    """`make run` and the `flask` command in this checkout (.flaskenv sets APP_ENV=development)."""

    ENV_NAME = "development"
    SESSION_COOKIE_SECURE = False
    # app/static as it is, edits shown at once; `STATIC_BUILD_DIR=... make run` tries a build.
    STATIC_BUILD_DIR = os.environ.get("STATIC_BUILD_DIR")
    STATIC_MAX_AGE = 0  # the browser asks again each time, so an edited app.css shows on reload
    WARM_UP_AT_START = False  # templates reload when edited: each is compiled when shown

    @classmethod
    def check(cls, config: dict[str, Any]) -> None:
        if not config.get("SECRET_KEY"):
            config["SECRET_KEY"] = _development_secret()


class TestConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    STATIC_BUILD_DIR = None  # tests of the build make their own (tests/web/test_static_files.py)
    SECRET_KEY = "test-secret-key"  # noqa: S105 - fixed so test sessions are reproducible
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    SESSION_COOKIE_SECURE = False
    WTF_CSRF_ENABLED = False  # tests that check CSRF turn it back on
    # Cheaper scrypt in tests only (thousands of sign-ups); production keeps werkzeug's default.
    PASSWORD_HASH_METHOD = "scrypt:4096:8:1"  # noqa: S105 - a method, not a secret
    MAIL_AFTER_COMMIT = "inline"  # deterministic: the mail is there when the request returns
    # The suite signs hundreds of people up from 127.0.0.1; the tests of the limit set their own.
    API_SIGNUP_LIMIT_PER_ADDRESS = 100_000
    WARM_UP_AT_START = False  # the suite builds many apps; each page builds what it shows


def _development_secret() -> str:
    """A per-checkout key kept under instance/, so dev sessions survive a restart."""
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def listening_url(host: str, port: int) -> str:
    """The base URL of a development server listening on `host`:`port`, for emailed links: a
    wildcard address (listen everywhere) is reached locally on the loopback address."""
    if host in ("0.0.0.0", "", "*"):  # noqa: S104 - comparing, not binding
        host = "127.0.0.1"
    elif host == "::":
        host = "[::1]"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{port}"


CONFIGS = {"production": Config, "development": DevelopmentConfig, "testing": TestConfig}


def config_for_environment() -> type[Config]:
    name = os.environ.get("APP_ENV", "production")
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(f"APP_ENV must be one of {', '.join(CONFIGS)}, not {name!r}") from None
