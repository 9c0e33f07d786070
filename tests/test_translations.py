"""The Korean catalogue: complete, consistent with the code, and actually served.

Many users read the site only in Korean, so an English string left untranslated is a bug. When a
test here fails after you added or changed a string in app/ or templates/, run `make messages`,
translate the new entries in translations/ko/LC_MESSAGES/messages.po (no '#, fuzzy' left) and
run `make translations` (or any make target that runs the tests) to compile the .mo file.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
KO_PO = TRANSLATIONS / "ko" / "LC_MESSAGES" / "messages.po"
KO_MO = KO_PO.with_suffix(".mo")

# The same command as `make messages`. Babel skips directories whose names start with "_" unless
# --ignore-dirs is given, which would leave templates/_macros and templates/_partials (the consent
# notice among them) out of the catalogue: only dot-directories (.venv, .git, ...) are skipped.
EXTRACT = [
    "extract",
    "-F",
    "babel.cfg",
    "-k",
    "_l",
    "-k",
    "lazy_gettext",
    "--ignore-dirs",
    ".*",
]
HOW_TO_FIX = (
    "Run `make messages` (pybabel extract -F babel.cfg -k _l -k lazy_gettext --ignore-dirs '.*' "
    "-o translations/messages.pot . && pybabel update -i translations/messages.pot "
    "-d translations --no-fuzzy-matching), then translate these entries in "
    f"{KO_PO.relative_to(ROOT)} and remove any '#, fuzzy' flag."
)

# Any printf-style directive: %(name)s, %(n)d, %s, %%, ...
DIRECTIVE = re.compile(r"%(?:\((?P<name>[^)]*)\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[a-zA-Z%]")


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _messages(catalog: Catalog) -> list[Message]:
    return [m for m in catalog if m.id]  # without the header entry


def _label(message: Message) -> str:
    ident = message.id if isinstance(message.id, str) else message.id[0]
    where = ", ".join(f"{path}:{line}" for path, line in message.locations[:3])
    return f"{ident!r}" + (f" ({where})" if where else "")


def _directives(text: str) -> tuple[set[str], list[str]]:
    """Named placeholders with their conversion ({'%(n)s'}) and the unnamed ones, in order."""
    named: set[str] = set()
    unnamed: list[str] = []
    for match in DIRECTIVE.finditer(text):
        if match.group("name") is not None:
            named.add(match.group(0))
        else:
            unnamed.append(match.group(0))
    return named, unnamed


@pytest.fixture(scope="module")
def ko() -> Catalog:
    assert KO_PO.exists(), f"{KO_PO.relative_to(ROOT)} is missing. {HOW_TO_FIX}"
    return _read(KO_PO, locale="ko")


# --- (a) the catalogue itself ----------------------------------------------------------------


def test_catalogue_is_korean_with_one_plural_form(ko: Catalog) -> None:
    assert str(ko.locale) == "ko"
    assert ko.num_plurals == 1, ko.plural_forms
    assert not ko.fuzzy, "the catalogue header is marked fuzzy: `pybabel compile` would skip it"


def test_every_message_is_translated_and_not_fuzzy(ko: Catalog) -> None:
    untranslated, fuzzy = [], []
    for message in _messages(ko):
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if message.pluralizable and len(strings) != ko.num_plurals:
            untranslated.append(f"{_label(message)}: needs {ko.num_plurals} plural form(s)")
        elif not all(s and s.strip() for s in strings):
            untranslated.append(_label(message))
        if message.fuzzy:
            fuzzy.append(_label(message))
    assert not untranslated, (
        f"{len(untranslated)} message(s) without a Korean translation in "
        f"{KO_PO.relative_to(ROOT)}:\n  " + "\n  ".join(untranslated)
    )
    assert not fuzzy, (
        f"{len(fuzzy)} fuzzy message(s) (guesses that are not shown to users): check the "
        "translation, then delete the '#, fuzzy' line:\n  " + "\n  ".join(fuzzy)
    )


def test_translations_keep_the_placeholders(ko: Catalog) -> None:
    broken = []
    for message in _messages(ko):
        if message.pluralizable:
            # Every Korean form stands for the plural English sentence (nplurals=1).
            source = message.id[1]
            strings = list(message.string)
        else:
            source = message.id
            strings = [message.string]
        expected = _directives(source)
        for string in strings:
            got = _directives(string or "")
            if got != expected:
                broken.append(
                    f"{_label(message)}\n    msgid has {sorted(expected[0]) + expected[1]}, "
                    f"msgstr {string!r} has {sorted(got[0]) + got[1]}"
                )
    assert not broken, (
        "placeholders must be copied exactly (same names, same conversion, no stray '%'):\n  "
        + "\n  ".join(broken)
    )


def test_babel_finds_no_format_errors(ko: Catalog) -> None:
    problems = [f"{_label(message)}: {errors}" for message, errors in ko.check()]
    assert not problems, "\n".join(problems)


# --- (b) the catalogue is up to date with the code -------------------------------------------


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    result = subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [sys.executable, "-m", "babel.messages.frontend", *EXTRACT, "-o", str(pot), "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"pybabel extract failed:\n{result.stderr}"
    assert pot.exists(), f"pybabel extract wrote nothing:\n{result.stderr}"
    return _read(pot)


def test_extraction_sees_the_shared_templates(extracted: Catalog) -> None:
    """Guards the extraction command itself: partials and macros hold user-facing text too."""
    scanned = {path for message in extracted for path, _line in message.locations}
    for folder in ("templates/_partials/", "templates/_macros/"):
        if any((ROOT / folder).glob("*.html")):
            assert any(path.startswith(folder) for path in scanned), f"{folder} was not scanned"


def test_every_string_in_the_code_is_in_the_korean_catalogue(
    extracted: Catalog, ko: Catalog
) -> None:
    missing = []
    for message in _messages(extracted):
        translated = ko.get(message.id, message.context)
        if translated is None:
            missing.append(_label(message))
        elif message.pluralizable != translated.pluralizable or (
            message.pluralizable and message.id[1] != translated.id[1]
        ):
            missing.append(f"{_label(message)}: the plural form changed")
    assert not missing, (
        f"{len(missing)} string(s) in the code are not in the Korean catalogue:\n  "
        + "\n  ".join(missing)
        + f"\n{HOW_TO_FIX}"
    )


# --- (c) the app serves the catalogue --------------------------------------------------------


@pytest.fixture(scope="module")
def page_client() -> Iterator[FlaskClient]:
    assert KO_MO.exists(), (
        f"{KO_MO.relative_to(ROOT)} is missing: compile it with `make translations` "
        "(or `.venv/bin/pybabel compile -d translations`). It is build output, not committed."
    )
    assert KO_MO.stat().st_mtime >= KO_PO.stat().st_mtime, (
        f"{KO_MO.relative_to(ROOT)} is older than {KO_PO.name}: recompile it with "
        "`make translations` (or `.venv/bin/pybabel compile -d translations`)."
    )
    from app import create_app
    from app.extensions import db

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    yield app.test_client()
    with app.app_context():
        db.engine.dispose()


def _get(client: FlaskClient, path: str, language: str) -> str:
    response = client.get(path, headers={"Accept-Language": language})
    assert response.status_code == 200, (path, language, response.status_code)
    return response.get_data(as_text=True)


def test_start_page_in_korean(page_client: FlaskClient) -> None:
    html = _get(page_client, "/", "ko")
    assert '<html lang="ko">' in html
    assert "K-수출전사 매칭" in html
    assert "K-Export Warrior Match" not in html
    assert "유학생으로 신청하기" in html
    assert "중소벤처기업부" in html


def test_start_page_in_english(page_client: FlaskClient) -> None:
    html = _get(page_client, "/", "en")
    assert '<html lang="en">' in html
    assert "K-Export Warrior Match" in html
    assert "K-수출전사 매칭" not in html


def test_privacy_notice_in_korean(page_client: FlaskClient) -> None:
    """The PIPA notice lives in a partial: it must be translated like the rest."""
    html = _get(page_client, "/privacy", "ko")
    for korean in ("개인정보 처리방침", "개인정보 수집·이용", "제3자 제공", "동의를 거부할 권리"):
        assert korean in html, korean
    assert "Collection and use of personal data" not in html


@pytest.mark.parametrize(
    ("path", "korean"),
    [("/login", "로그인"), ("/signup", "회원가입"), ("/student/signup", "유학생으로 신청하기")],
)
def test_other_public_pages_in_korean(page_client: FlaskClient, path: str, korean: str) -> None:
    assert korean in _get(page_client, path, "ko")
