"""Template helpers for pages that repeat one thing per row: work done once per page.

A page of 20 candidate cards built three URLs per card with `url_for` (werkzeug's URL builder:
about a tenth of a millisecond each) and asked Flask-WTF for the CSRF token five times per card.
The helpers here let a page build such things once and fill in each row's id (issue 14).
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_request_context, request, url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from app.i18n import current_locale
from app.schemas import ID_MAX
from app.services.clock import korea_time

# Any id the routes accept: the path, which holds it, comes before any query value that could
# spell the same digits, so its first occurrence in the URL is the slot.
_SLOT = ID_MAX


_MISSING = object()


class Recent:
    """At most `size` values by key, the least recently used dropped first; safe across the
    threads of a threaded server, which renders pages at once. What `RenderedRows` and
    `KeptValues` keep, and the dashboard's counts (`stats.dashboard_counts`)."""

    def __init__(self, size: int) -> None:
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = _MISSING) -> Any:
        """The value kept under `key` (now the most recently used), else `default`."""
        with self._lock:
            value = self._values.get(key, _MISSING)
            if value is not _MISSING:
                self._values.move_to_end(key)
                return value
            return default

    def get_many(self, keys: Iterable[Hashable], default: Any = _MISSING) -> list[Any]:
        """`get` for each key in turn, under one lock and in one loop (a page's 20 kept cards
        looked up one by one took a lock and two calls each; issue 14)."""
        values = self._values
        found: list[Any] = []
        with self._lock:
            for key in keys:
                value = values.get(key, _MISSING)
                if value is _MISSING:
                    found.append(default)
                else:
                    values.move_to_end(key)
                    found.append(value)
        return found

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._values[key] = value
            while len(self._values) > self._size:
                self._values.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Hashable]:
        """The keys, least recently used first (a copy: safe while others render)."""
        with self._lock:
            return iter(list(self._values))


class KeptValues:
    """Values a page builds the same way for every reader (its words in one language, its URL
    patterns under one mount point), kept per app and process so a render does not build them
    again (issue 14). The key must name everything the value depends on; it never names the
    reader. At most `size` values are kept, the least recently used dropped first: a URL's key
    holds the query's filters, which a reader chooses."""

    def __init__(self, size: int = 4000) -> None:
        self._size = size

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        # Per app: the tests build many apps in one process, each with its own URL map.
        kept: Recent = current_app.extensions.setdefault("kept_values", Recent(self._size))
        value = kept.get(key)
        if value is _MISSING:
            value = build()
            kept.put(key, value)
        return value


KEPT_VALUES = KeptValues()


def page_url(endpoint: str, **values: Any) -> str:
    """`url_for(endpoint, **values)`, built once per mount point (werkzeug's URL builder: about a
    tenth of a millisecond a URL). For endpoints whose URL depends on nothing but the values and
    where the app is mounted: no host, subdomain or scheme (no `_external`). The key keeps the
    values in their order: werkzeug writes the query in that order."""
    return KEPT_VALUES.get(
        ("url", request.script_root, endpoint, tuple(values.items())),
        lambda: url_for(endpoint, **values),
    )


def url_pattern(endpoint: str, key: str = "match_id", **values: Any) -> tuple[Markup, Markup]:
    """`url_for(endpoint, key=<id>, **values)` as the text before and after the id, escaped
    for an attribute: the page writes `{{ p[0] }}{{ id }}{{ p[1] }}` for each row. Built once
    per mount point and values, like `page_url`."""

    def build() -> tuple[Markup, Markup]:
        url = url_for(endpoint, **{**values, key: _SLOT})
        before, _, after = url.partition(str(_SLOT))
        return escape(before), escape(after)

    return KEPT_VALUES.get(
        ("url_pattern", request.script_root, endpoint, key, tuple(values.items())), build
    )


def kept_words(name: str, table: Mapping[str, Any]) -> Mapping[str, Markup]:
    """A page's fixed words (`table`: lazy strings) in the reader's language, translated once
    per language, as Jinja's `_()` would write them (the translation trusted, marked safe, and
    formatted with no values): the page writes `{{ t.why }}` (issue 14: the candidates page
    translated 40 strings on every render). `name` must be unique to the table."""
    return KEPT_VALUES.get(
        ("words", name, current_locale()),
        lambda: MappingProxyType({word: Markup(str(text)) % {} for word, text in table.items()}),  # noqa: S704 - as Jinja's _()
    )


# The layout's own words outside the kept menu (`base.html`: the title's suffix, the skip link,
# the footer), on every page: translated once per language, not by four `_()` a render.
LAYOUT_WORDS = {
    "site": _l("K-Export Warrior Match"),
    "skip": _l("Skip to content"),
    "project": _l("K-Export Warrior 1000 project · Ministry of SMEs and Startups"),
    "privacy": _l("Privacy policy"),
}


def layout_words() -> Mapping[str, Markup]:
    return kept_words("layout", LAYOUT_WORDS)


# The layout's static files and footer link (`base.html`, every page), as `page_url` builds
# each: kept together, one look-up a page rather than eight (issue 14).
LAYOUT_URLS: Mapping[str, tuple[str, Mapping[str, Any]]] = {
    "favicon_ico": ("static", {"filename": "favicon.ico"}),
    "favicon_svg": ("static", {"filename": "favicon.svg"}),
    "apple_touch_icon": ("static", {"filename": "apple-touch-icon.png"}),
    "bootstrap_css": ("static", {"filename": "vendor/bootstrap.min.css"}),
    "app_css": ("static", {"filename": "app.css"}),
    "privacy": ("main.privacy", {}),
    "bootstrap_js": ("static", {"filename": "vendor/bootstrap.bundle.min.js"}),
    "app_js": ("static", {"filename": "app.js"}),
}


def layout_urls() -> Mapping[str, str]:
    """`LAYOUT_URLS` built for this app and mount point (what `page_url` depends on)."""
    return KEPT_VALUES.get(
        ("layout_urls", request.script_root),
        lambda: MappingProxyType(
            {name: url_for(endpoint, **values) for name, (endpoint, values) in LAYOUT_URLS.items()}
        ),
    )


NEXT_CYCLE = _l("Next matching cycle: %(when)s.")


def next_cycle_words(when: datetime) -> Markup:
    """`_partials/next_cycle.html`'s sentence, as Jinja's `_()` wrote it (the translation
    trusted, the time escaped into it), for an aware `when`: kept per language and instant, since
    the time's words (Babel's full date in Korea time) cost a tenth of a millisecond a page and
    the next cycle changes once a week (issue 14). The key is the instant in UTC: in an hour a
    clock change repeats, one local time names two instants (aware times of one zone compare by
    their wall clock)."""
    return KEPT_VALUES.get(
        ("next_cycle", current_locale(), when.astimezone(UTC)),
        lambda: Markup(str(NEXT_CYCLE)) % {"when": korea_time(when, "full")},  # noqa: S704 - as Jinja's _()
    )


T = TypeVar("T")


def once_per_request(helper: Callable[[], T]) -> Callable[[], T]:
    """A template helper asked twice on one page (the coordinators' menu and their dashboard
    both show how many proposals wait): answered once per request, kept on `g`. Outside a
    request it is asked every time."""
    key = f"once_per_request.{helper.__module__}.{helper.__qualname__}"

    @functools.wraps(helper)
    def cached() -> T:
        if not has_request_context():
            return helper()
        if key not in g:
            setattr(g, key, helper())
        return getattr(g, key)

    return cached


# Where the CSRF token stood in a row kept by RenderedRows, when shown without one: NUL never
# occurs in a rendered page.
_TOKEN_SLOT = "\x00csrf\x00"  # noqa: S105 - a placeholder, not a secret


class RenderedRows:
    """Rendered rows of a page (an SME's candidate cards), kept per process, keyed on everything
    a row shows (issue 14: rendering 20 cards was half of the candidates page).

    The key is built by the page from the row's data as loaded for this request, the reader's
    language and whatever else the row's HTML depends on, so a row is reused only when it would
    be rendered byte for byte the same: a changed row, another language or other filters make
    another key, never a stale row. The HTML is a function of the key alone, and the key holds
    the match's id, so a kept row shows no one anything they would not have been shown anyway.
    The one thing that differs per session, the CSRF token, is not kept: it is cut out when the
    row is stored and the reader's own token put back each time it is shown.
    Used from a template as `{% call rows(key, token) %}...the row...{% endcall %}`: the block
    renders only when the key is new. At most `size` rows are kept, the least recently shown
    dropped first."""

    def __init__(self, size: int = 4000) -> None:
        self._rows = Recent(size)

    def __call__(self, key: Hashable, token: str, caller: Callable[[], str]) -> Markup:
        parts = self._rows.get(key)
        if parts is _MISSING:
            fresh = str(caller())
            parts = tuple(fresh.split(token)) if token else (fresh,)
            self._rows.put(key, parts)
        return _with_token(parts, token)

    def kept(self, key: Hashable, token: str) -> Markup | None:
        """The row kept under `key` with the reader's token put in, else None: for a view that
        looks its rows up in one Python loop and leaves the template only the rows to render
        (a `{% call %}` per row costs the template a macro and two calls even when kept)."""
        parts = self._rows.get(key, None)
        return None if parts is None else _with_token(parts, token)

    def kept_rows(
        self, keyed: Iterable[tuple[T, Hashable]], token: str
    ) -> list[tuple[T, Hashable, Markup | None]]:
        """Each item with its key and its kept row (`kept`), for a view's one loop: the rows
        looked up at once (`Recent.get_many`), in the items' order."""
        pairs = list(keyed)
        kept = self._rows.get_many([key for _item, key in pairs], None)
        return [
            (item, key, None if parts is None else _with_token(parts, token))
            for (item, key), parts in zip(pairs, kept, strict=True)
        ]

    def clear(self) -> None:
        self._rows.clear()

    def __len__(self) -> int:
        return len(self._rows)


# Parts of pages kept per process like the candidate cards (issue 14): the rows of the
# coordinators' matches list, and its filter menus (~290 options of the taxonomy, which depend
# only on the language and the value chosen). A part's key must name everything it shows.
PAGE_PARTS = RenderedRows(size=4000)


def _with_token(parts: tuple[str, ...], token: str) -> Markup:
    """A kept row with the reader's CSRF token put back where it was taken out: a row is kept
    as its text cut at the token and joined with the reader's (searching the row's text for a
    placeholder, `str.replace`, cost ~2.5 ns a character, ~10 µs a 4 KB card, every view of a
    page of 20 cards; issue 14, session 16). Without a token the places stay marked."""
    # The row was escaped when rendered; the token is URL-safe text (Flask-WTF's signature).
    return Markup((token or _TOKEN_SLOT).join(parts))  # noqa: S704


def option_tags(choices: Iterable[tuple[Any, Any]], chosen: Any) -> Markup:
    """A menu's `<option>`s, the chosen value selected, as Jinja would write
    `<option value="{{ code }}"{{ ' selected' if code == chosen }}>{{ label }}</option>` for
    each: joined in Python, where Jinja spent a loop step, a test and two escapes per option
    (the candidates page's filter menus: about a tenth of its render; issue 14)."""
    return Markup(  # noqa: S704 - every value escaped
        "".join(
            f'<option value="{escape(code)}"{" selected" if code == chosen else ""}>'
            f"{escape(label)}</option>"
            for code, label in choices
        )
    )


# Where the page's own address stood in a kept part of the layout (see `kept_layout`).
_NEXT_SLOT = "\x00next\x00"


def kept_layout(key: Hashable, token: str, next_path: str, caller: Callable[[], str]) -> Markup:
    """A part of the layout (the menu) kept like `PAGE_PARTS`, for the parts that show the
    page's own address (the language switch sends the reader back to it): rendered with a slot
    (`layout_next`) where the address goes, which is put back, escaped as Jinja would, each time.
    The key must name everything else the part shows: it is the same for every reader of one
    role on one page, so a mixed workload of many readers shares it (issue 14)."""
    html = str(PAGE_PARTS(key, token, caller))  # a str: Markup.replace would escape twice
    return Markup(html.replace(_NEXT_SLOT, str(escape(next_path))))  # noqa: S704 - escaped


def compile_templates(app: Flask) -> None:
    """Every template compiled now, not by the first request that shows it (`app.warm_up`):
    compiled templates stay in Jinja's cache (`auto_reload` is off in production; the cache
    holds 400, there are ~80)."""
    env = app.jinja_env
    for name in env.list_templates():
        env.get_template(name)


def init_template_helpers(app: Flask) -> None:
    app.jinja_env.globals.update(
        url_pattern=url_pattern,
        page_url=page_url,
        kept_part=PAGE_PARTS,
        kept_layout=kept_layout,
        option_tags=option_tags,
        layout_next=Markup(_NEXT_SLOT),  # noqa: S704 - a constant placeholder
        layout_words=layout_words,
        layout_urls=layout_urls,
        next_cycle_words=next_cycle_words,
    )
