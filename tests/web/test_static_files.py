"""Static files in production (issue 13, item 11): fingerprinted names in the pages, Brotli or
gzip as the browser accepts, cached for good under a hashed name and briefly otherwise."""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any

import brotli
import pytest

from app import create_app
from app.static_files import build

STATIC = Path(__file__).resolve().parents[2] / "app" / "static"
ONE_YEAR = 365 * 24 * 3600


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("static") / "build"
    build(STATIC, target)
    return target


@pytest.fixture
def built_client(built: Path) -> Any:
    app = create_app({"TESTING": True, "STATIC_BUILD_DIR": str(built)})
    return app.test_client()


def static_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


def max_age(response: Any) -> int:
    found = re.search(r"max-age=(\d+)", response.headers.get("Cache-Control", ""))
    assert found, response.headers.get("Cache-Control")
    return int(found.group(1))


def test_pages_link_fingerprinted_names(built_client: Any, built: Path) -> None:
    urls = static_urls(built_client.get("/login").get_data(as_text=True))
    assert len(urls) >= 4  # Bootstrap's CSS and JS, ours
    for url in urls:
        assert re.search(r"\.[0-9a-f]{12}\.[a-z]+$", url), url
        assert (built / url.removeprefix("/static/")).is_file(), url


def test_the_fingerprint_follows_the_content(tmp_path: Path) -> None:
    source, target = tmp_path / "src", tmp_path / "out"
    (source / "css").mkdir(parents=True)
    (source / "css" / "site.css").write_text("body { color: #111; }\n" * 50)
    first = build(source, target)["css/site.css"]
    assert build(source, target)["css/site.css"] == first  # same content, same name
    (source / "css" / "site.css").write_text("body { color: #222; }\n" * 50)
    second = build(source, target)["css/site.css"]
    assert second != first
    assert (target / second).is_file() and not (target / first).exists()
    assert (target / (second + ".br")).is_file() and (target / (second + ".gz")).is_file()


@pytest.mark.parametrize(
    ("accept", "encoding"),
    [("br, gzip, deflate", "br"), ("gzip, deflate", "gzip"), ("", None), ("identity", None)],
)
def test_compressed_as_the_browser_accepts_and_cached_for_good(
    built_client: Any, accept: str, encoding: str | None
) -> None:
    html = built_client.get("/login").get_data(as_text=True)
    css = next(url for url in static_urls(html) if "bootstrap.min" in url and url.endswith(".css"))
    response = built_client.get(css, headers={"Accept-Encoding": accept})
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == encoding
    assert "Accept-Encoding" in response.headers.get("Vary", "")
    body = response.data
    if encoding == "br":
        body = brotli.decompress(body)
    elif encoding == "gzip":
        body = gzip.decompress(body)
    original = (STATIC / "vendor" / "bootstrap.min.css").read_bytes()
    assert body == original
    if encoding:
        assert len(response.data) < len(original) / 4  # 227 KB of CSS is ~25 KB over the wire
    cache = response.headers["Cache-Control"]
    assert "immutable" in cache and "public" in cache and max_age(response) >= ONE_YEAR
    assert response.headers["Content-Type"].startswith("text/css")


def test_unhashed_names_are_cached_briefly(built_client: Any) -> None:
    response = built_client.get("/static/app.css", headers={"Accept-Encoding": "br"})
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == "br"
    assert "immutable" not in response.headers["Cache-Control"]
    assert 0 < max_age(response) <= 3600


def test_static_responses_carry_the_security_headers(built_client: Any) -> None:
    response = built_client.get("/static/app.css")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "no-store" not in response.headers["Cache-Control"]


def test_without_a_build_plain_names_and_short_caching(client: Any) -> None:
    urls = static_urls(client.get("/login").get_data(as_text=True))
    assert "/static/app.css" in urls
    response = client.get("/static/app.css", headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") is None
    assert "immutable" not in response.headers["Cache-Control"]
    assert max_age(response) <= 3600


def test_an_unknown_static_file_is_a_404_page(built_client: Any) -> None:
    response = built_client.get("/static/no-such-file.9caac977a0af.css")
    assert response.status_code == 404


def test_the_build_command_writes_what_the_app_then_serves(tmp_path: Path) -> None:
    target = tmp_path / "static-build"
    app = create_app({"TESTING": True, "STATIC_BUILD_DIR": str(target)})
    result = app.test_cli_runner().invoke(args=["static", "build"])
    assert result.exit_code == 0, result.output
    assert (target / "manifest.json").is_file()
    fresh = create_app({"TESTING": True, "STATIC_BUILD_DIR": str(target)}).test_client()
    urls = static_urls(fresh.get("/login").get_data(as_text=True))
    assert all((target / url.removeprefix("/static/")).is_file() for url in urls)
