"""Issue 16, item 3: one way from a service's refusal to the person's screen.

Services raise DomainError with a field and a message key; `app.i18n.error_messages` words it;
`web.rerender` puts it on the form (or `web.flash_refusal` flashes it) and the API sends it as
JSON naming the field. No view words a refusal itself.
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.coordinators.forms import PairForm, SettingsForm
from app.forms import apply_errors
from app.i18n import error_message, error_messages
from app.services.errors import AuthenticationFailed, InvalidInput, NotFound
from app.services.imports import ImportRejected

APP = Path(__file__).resolve().parents[2] / "app"
VIEW_PACKAGES = ("auth", "students", "smes", "coordinators", "matches", "main")


def _sources(*folders: str) -> dict[str, str]:
    paths = [p for folder in folders for p in sorted((APP / folder).rglob("*.py"))]
    return {str(p.relative_to(APP)): p.read_text() for p in paths}


def test_every_message_key_a_service_raises_has_its_sentence(app):
    """A key without a sentence would fall back to "This value is not valid.": say what it is."""
    source = "\n".join(p.read_text() for p in sorted(APP.rglob("*.py")))
    keys = set(re.findall(r"\bkey\s*=\s*\"(\w+)\"", source))
    keys |= set(re.findall(r"ImportRejected\(\s*\[\],\s*\"(\w+)\"", source))
    assert {"match_not_found", "cycle_busy", "csv_consent", "wrong_credentials"} <= keys
    with app.test_request_context():
        fallback = error_message("no_such_key", {})
        unworded = sorted(k for k in keys if error_message(k, {}) == fallback)
    assert unworded == []


def test_no_view_words_a_refusal_itself():
    """The views hand refusals to web.rerender / web.flash_refusal; none translates error types,
    keeps a message map of its own or flashes a refusal by hand."""
    found = []
    for name, text in _sources(*VIEW_PACKAGES).items():
        for pattern in (
            r"translate_errors\(",
            r"\berror_message\(",
            r"def _words\b",
            r"def _refusal\b",
            r"learned_weights\.message\(",
            r"\.messages\(\)",
            r"flash\([^)]*\"danger\"\)",
        ):
            found += [f"{name}: {pattern}" for _ in re.finditer(pattern, text)]
    assert found == []


def test_a_refusal_names_its_field_or_none(app):
    with app.test_request_context():
        assert error_messages(AuthenticationFailed()) == {"password": ["Wrong email or password."]}
        assert error_messages(NotFound(key="match_not_found")) == {
            "": ["This match does not exist."]
        }
        assert error_messages(InvalidInput.single("reason", "missing")) == {
            "reason": ["This field is required."]
        }
        rows = ImportRejected([], "csv_too_many_rows", n=2000)
        assert rows.status == 422 and rows.problems == ["Import at most 2000 companies per file."]


FIELDS = ["student_id", "sme_id", "reason", "status", "sme", "", "weights.language", "mode"]
TYPES = ["missing", "unknown_code", "not_pending", "capacity_full", "int_parsing", "pair_closed"]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(FIELDS),
        st.lists(st.sampled_from(TYPES).map(lambda t: {"type": t, "ctx": {}}), min_size=1),
        min_size=1,
    )
)
def test_every_message_shows_once_beside_its_field_or_above_the_form(app, fields):
    """Whatever fields a refusal names: each of its messages lands on the form field it names or,
    for a field the form does not have, in the list above the form; none is lost or doubled."""
    error = InvalidInput(fields)
    with app.test_request_context(method="POST"):
        for form in (PairForm(formdata=None), SettingsForm(formdata=None)):
            leftovers = apply_errors(form, error)
            shown = leftovers + [m for field in form for m in field.errors]
            expected = [m for messages in error_messages(error).values() for m in messages]
            assert sorted(map(str, shown)) == sorted(map(str, expected))
