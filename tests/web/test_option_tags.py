"""`option_tags` writes a filter menu's options as the Jinja loop it replaced wrote them (issue 14):
the same bytes for any codes and names, escaping included, the chosen one selected."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from jinja2 import Environment

from app.templating import option_tags

LOOP = Environment(autoescape=True).from_string(
    "{% for code, label in choices %}"
    "<option value=\"{{ code }}\"{{ ' selected' if code == chosen }}>{{ label }}</option>"
    "{% endfor %}"
)
TEXT = st.text(alphabet=st.sampled_from(list("ab<>&\"'한 ")), max_size=6)


@given(
    choices=st.lists(st.tuples(TEXT, TEXT), max_size=6),
    chosen=st.one_of(TEXT, st.none()),
    pick=st.integers(min_value=0, max_value=5),
)
def test_the_options_are_the_loops(choices: list[tuple[str, str]], chosen: Any, pick: int) -> None:
    if choices and pick < len(choices):
        chosen = choices[pick][0]  # often one of them, sometimes none
    assert str(option_tags(choices, chosen)) == LOOP.render(choices=choices, chosen=chosen)
