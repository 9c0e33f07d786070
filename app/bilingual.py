"""Text people write in English or Korean, shown in the reader's language.

An SME gives its name, products and description in English, Korean or both; each reader sees
their language, the other as a fallback, and a fallback is labelled ("written in Korean") with a
`lang` attribute (templates/_macros/bilingual.html). A student's bio is one text in whatever
language they wrote it: its language is guessed from its script where that is safe (Hangul is
Korean; plain ASCII letters are taken as English), and left unknown otherwise (no label then).
"""

from __future__ import annotations

import unicodedata

from flask_babel import get_locale

LANGS = ("ko", "en")


class LocalizedText(str):
    """A str that remembers its language (`lang`: "ko", "en" or None when not known)."""

    lang: str | None

    def __new__(cls, text: str, lang: str | None) -> LocalizedText:
        obj = super().__new__(cls, text)
        obj.lang = lang
        return obj


def reader_locale() -> str | None:
    """The reader's language when there is a reader (a request or a forced email locale)."""
    try:
        locale = get_locale()
    except (RuntimeError, AttributeError, KeyError):
        return None
    return str(locale) if locale else None


def pick(ko: str | None, en: str | None, locale: str | None = None) -> LocalizedText:
    """The text in `locale` (default: the reader's) if given, else the other one."""
    locale = locale or reader_locale() or "ko"
    texts = {"ko": (ko or "").strip(), "en": (en or "").strip()}
    first = "en" if locale == "en" else "ko"
    for lang in (first, "ko" if first == "en" else "en"):
        if texts[lang]:
            return LocalizedText(texts[lang], lang)
    return LocalizedText("", None)


def script_lang(text: str | None) -> str | None:
    """ "ko" when most letters are Hangul, "en" when every letter is plain ASCII, else None.

    The same rule put the texts of SMEs registered before this feature into their fields
    (migration 5c0e13b1a4f2)."""
    letters = [ch for ch in (text or "") if ch.isalpha()]
    if not letters:
        return None
    hangul = sum(1 for ch in letters if "HANGUL" in unicodedata.name(ch, ""))
    if hangul * 2 >= len(letters):
        return "ko"
    if all(ch.isascii() for ch in letters):
        return "en"
    return None


def home_lang(text: str) -> str:
    """Where a one-language text of an SME goes: Korean when its letters are mostly Hangul or
    it has none, English otherwise (the migration's rule, and the API's for `company_name`)."""
    return (
        "en"
        if script_lang(text) == "en"
        or (script_lang(text) is None and any(ch.isalpha() for ch in text))
        else "ko"
    )


def as_written(text: str | None) -> LocalizedText:
    """A one-language text (a bio) with the language its script tells, if it tells one."""
    return LocalizedText(text or "", script_lang(text))
