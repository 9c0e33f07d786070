"""A production app builds what every page shares before its first request (`app.warm_up`):
a fresh gunicorn worker's first candidates page took ~200 ms of CPU (compiling its templates,
loading the taxonomy, naming every code) while the requests queued behind it waited (issue 14)."""

from __future__ import annotations

from typing import Any

import pytest
from jinja2 import BaseLoader

from app import create_app, i18n
from app.config import Config, DevelopmentConfig, TestConfig


def test_production_warms_up_and_development_and_tests_do_not() -> None:
    assert Config.WARM_UP_AT_START
    assert not DevelopmentConfig.WARM_UP_AT_START  # templates reload when edited
    assert not TestConfig.WARM_UP_AT_START


def test_a_warmed_up_app_reads_no_template_source_and_names_no_code_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    i18n._names.cache_clear()
    app = create_app(
        {
            "TESTING": True,
            "WARM_UP_AT_START": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'warm.sqlite3'}",
        }
    )
    assert i18n._names.cache_info().currsize == len(app.config["LANGUAGES"])
    names = app.jinja_env.list_templates()
    assert len(names) > 50
    read: list[str] = []
    get_source = BaseLoader.get_source

    def reading(self: BaseLoader, environment: Any, template: str) -> Any:
        read.append(template)
        return get_source(self, environment, template)

    monkeypatch.setattr(app.jinja_env.loader.__class__, "get_source", reading)
    for name in names:  # every template already compiled: none is read or compiled again
        app.jinja_env.get_template(name)
    assert read == []
