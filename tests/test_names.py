"""Names refuse invisible and direction-changing characters; ordinary text in any script passes
(issue 12.11)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kexport_support import sme_data, student_data
from pydantic import ValidationError

from app import schemas

BIDI = [chr(c) for c in (0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F), *range(0x2066, 0x206A))]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u3164", "\u115f", "\u2800"]
ORDINARY = [
    "Nguyễn Thị Linh",
    "김민준",
    "(주)한빛코스메틱",
    "محمد عبد الله",
    "Anne-Marie O'Neil",
    "Ólafur Þór",
    "Дмитрий",
    "高桥 美咲",
    "فرزانه\u200cی",  # Persian: a zero-width non-joiner between letters is spelling
    "नमस्ते",
]


def _student(name):
    return schemas.StudentSignup.model_validate(student_data(name=name))


def _errors(exc):
    return {(".".join(map(str, e["loc"])), e["type"]) for e in exc.value.errors()}


@pytest.mark.parametrize("name", ORDINARY)
def test_ordinary_names_pass(name):
    assert _student(name).name == name or _student(name).name
    schemas.SMESignup.model_validate(sme_data(company_name=name, contact_name=name))


@settings(max_examples=150, deadline=None)
@given(
    st.text(st.characters(categories=["L", "Zs"]), min_size=0, max_size=20),
    st.sampled_from(BIDI),
    st.text(st.characters(categories=["L"]), min_size=1, max_size=20),
)
def test_any_direction_control_is_refused(before, control, after):
    with pytest.raises(ValidationError) as caught:
        _student(before + control + after)
    assert ("name", "invisible_chars") in _errors(caught)
    with pytest.raises(ValidationError) as caught:
        schemas.SMESignup.model_validate(sme_data(company_name_en="Hanbit" + control + after))
    assert any(
        loc.startswith("company_name_en") and kind == "invisible_chars"
        for loc, kind in _errors(caught)
    )


@settings(max_examples=100, deadline=None)
@given(st.text(st.sampled_from(INVISIBLE + [" "]), min_size=1, max_size=30))
def test_names_of_only_invisible_characters_are_refused(name):
    with pytest.raises(ValidationError):
        _student(name)
    with pytest.raises(ValidationError):
        schemas.SMESignup.model_validate(sme_data(contact_name=name))


@pytest.mark.parametrize("char", ["\u200b", "\u2060", "\ufeff", "\u3164"])
def test_invisible_characters_hidden_inside_a_name_are_refused(char):
    with pytest.raises(ValidationError) as caught:
        _student(f"Linh{char}Nguyen")
    assert ("name", "invisible_chars") in _errors(caught)


@settings(max_examples=150, deadline=None)
@given(st.text(st.characters(categories=["L", "M", "N", "P", "Zs"]), min_size=1, max_size=60))
def test_printable_text_with_a_letter_is_accepted(name):
    if not any(ch.isalpha() for ch in name) or name != name.strip() or len(name) > 100:
        return
    if any(ch in INVISIBLE for ch in name):  # Hangul fillers are letters that show nothing
        return
    _student(name)
