"""A page's fixed words and URL patterns are built once per language and mount point and kept
(`app.templating.kept_words`, `url_pattern`, `page_url`; issue 14). A kept value must be what
the request would have built: the reader's language, where the app is mounted, the filters in
the URL; and written as Jinja's `_()` writes a translation."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template_string, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from app.smes.routes import CANDIDATE_WORDS
from app.students.routes import PROPOSAL_WORDS
from app.templating import LAYOUT_WORDS, kept_words, layout_words, page_url, url_pattern


def test_words_are_kept_per_language(app: Flask) -> None:
    table = {"fit": _l("Fit score")}
    for _ in range(2):  # the second round reads what the first kept
        for locale, expected in (("en", "Fit score"), ("ko", "적합도")):
            with app.test_request_context(), force_locale(locale):
                assert kept_words("test.fit", table)["fit"] == expected


def test_kept_words_are_written_as_jinja_writes_them(app: Flask) -> None:
    # A translation is trusted (not escaped) and formatted with no values ("%%" gives "%").
    table = {"sign": _l("Fit score"), "odd": _l("<b>50%% & more</b>")}
    for locale in ("en", "ko"):
        with app.test_request_context(), force_locale(locale):
            words = kept_words(f"test.jinja.{locale}", table)
            for word, text in (("sign", "Fit score"), ("odd", "<b>50%% & more</b>")):
                as_jinja = render_template_string("{{ _(text) }}", text=text)
                assert words[word] == as_jinja
                assert isinstance(words[word], Markup)
                assert str(Markup("{}").format(words[word])) == as_jinja


def test_the_pages_tables_translate_every_word(app: Flask) -> None:
    for table in (CANDIDATE_WORDS, PROPOSAL_WORDS, LAYOUT_WORDS):
        with app.test_request_context(), force_locale("ko"):
            korean = kept_words(f"test.table.{id(table)}", table)
        with app.test_request_context(), force_locale("en"):
            english = kept_words(f"test.table.{id(table)}", table)
        assert all(korean[word] != english[word] for word in table), (korean, english)


def test_url_patterns_are_kept_per_mount_point_and_values(app: Flask) -> None:
    def pattern(root: str, **values: Any) -> tuple[str, str]:
        with app.test_request_context("/", base_url=f"http://localhost{root}"):
            before, after = url_pattern("smes.decide", **values)
            url = url_for("smes.decide", match_id=7, **values)
            assert f"{before}7{after}" == str(Markup.escape(url))  # the row's URL, escaped
            assert page_url("smes.candidates", **values) == url_for("smes.candidates", **values)
            return str(before), str(after)

    for _ in range(2):
        assert pattern("") == ("/sme/candidates/", "/decision")
        assert pattern("/kexport") == ("/kexport/sme/candidates/", "/decision")
        assert pattern("", sort="name", topik=1) == (
            "/sme/candidates/",
            "/decision?sort=name&amp;topik=1",
        )
        # werkzeug writes the query in the values' order: the same values in another order
        # are another URL, not the kept one
        assert pattern("", topik=1, sort="name")[1] == "/decision?topik=1&amp;sort=name"
        assert pattern("", sort="topik")[1] == "/decision?sort=topik"


def test_the_layouts_words_follow_the_readers_language(app: Flask, client: Any) -> None:
    """`base.html` writes its title suffix, skip link and footer from `layout_words()`, kept per
    language: each page shows them in its reader's language (the table's words translated:
    `test_the_pages_tables_translate_every_word`)."""
    for _ in range(2):  # the second round reads what the first kept
        for locale in ("en", "ko"):
            client.post("/language", data={"locale": locale})
            page = client.get("/privacy").get_data(as_text=True)
            with app.test_request_context(), force_locale(locale):
                words = layout_words()
                assert f">{words['skip']}</a>" in page
                assert f"<span>{words['project']}</span>" in page
                assert f" · {words['site']}</title>" in page


# The next cycle's sentence as `_partials/next_cycle.html` wrote it before it was kept.
NEXT_CYCLE_AS_JINJA = "{{ _('Next matching cycle: %(when)s.', when=when|korea_time('full')) }}"


def test_the_next_cycle_sentence_is_kept_per_language_and_instant(app: Flask) -> None:
    """`next_cycle_words` is what Jinja's `_()` wrote with the time's words, in each language,
    from the second round on too (kept); two instants an hour apart that one zone's clock writes
    the same (the hour Berlin's clocks repeat) each get their own sentence."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from app.templating import next_cycle_words

    berlin = ZoneInfo("Europe/Berlin")
    first = datetime(2026, 10, 25, 2, 30, tzinfo=berlin)  # summer time, 00:30 UTC
    second = first.replace(fold=1)  # winter time, 01:30 UTC: equal to `first` as Python compares
    assert first == second and first.astimezone(UTC) != second.astimezone(UTC)
    moments = [first, second, datetime(2026, 12, 7, 6, 0, tzinfo=ZoneInfo("Asia/Seoul"))]
    moments.append(moments[-1].astimezone(UTC) + timedelta(minutes=1))
    for _ in range(2):  # the second round reads what the first kept
        for locale in ("en", "ko"):
            with app.test_request_context(), force_locale(locale):
                sentences = []
                for when in moments:
                    as_jinja = render_template_string(NEXT_CYCLE_AS_JINJA, when=when)
                    assert next_cycle_words(when) == as_jinja
                    assert isinstance(next_cycle_words(when), Markup)
                    sentences.append(as_jinja)
                assert len(set(sentences)) == len(moments), sentences


def test_the_layouts_urls_are_kept_per_mount_point(app: Flask) -> None:
    """`layout_urls` (the layout's eight URLs as one kept value) is what `url_for` builds for
    each, under each mount point, from the second round on too."""
    from app.templating import LAYOUT_URLS, layout_urls

    for _ in range(2):  # the second round reads what the first kept
        for root in ("", "/match"):
            with app.test_request_context("/", base_url=f"http://localhost{root}"):
                urls = layout_urls()
                assert set(urls) == set(LAYOUT_URLS)
                for name, (endpoint, values) in LAYOUT_URLS.items():
                    assert urls[name] == url_for(endpoint, **values)
                    assert urls[name].startswith(f"{root}/")
