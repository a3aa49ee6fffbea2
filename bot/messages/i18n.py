"""The interface's languages: gettext catalogs (compiled with Babel) and dates per locale.

`t(lang, key)` and `tn(lang, key, n)` return a message of `texts.py` in one of `LANGUAGES`,
falling back to English for a message a catalog lacks. Excerpts are never translated.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
from pathlib import Path

from babel.dates import format_date as babel_format_date

from .texts import MESSAGES, PLURALS

DOMAIN = "khabar"
LOCALE_DIR = Path(__file__).parent / "locale"
# Each language's name in itself, in the order /language offers them.
LANGUAGES: dict[str, str] = {
    "en": "English",
    "ru": "Русский",
    "az": "Azərbaycanca",
    "kk": "Қазақша",
    "tr": "Türkçe",
    "uz": "Oʻzbekcha",
}
# Telegram language codes without a catalog, and the language their readers most likely read.
NEAREST: dict[str, str] = {"be": "ru", "uk": "ru", "ky": "ru", "tg": "ru", "tk": "ru"}
# Babel's locale for each language: British English writes "18 October 2025".
BABEL_LOCALE: dict[str, str] = {"en": "en_GB", "uz": "uz_Latn"}


def language(code: str | None) -> str:
    """The interface language for a Telegram language code ("az", "ru-RU", "pt-br"...)."""
    base = (code or "").replace("_", "-").split("-")[0].lower()
    if base in LANGUAGES:
        return base
    return NEAREST.get(base, "en")


@functools.cache
def catalog(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of `lang` (English, the source language, needs none)."""
    if lang == "en" or lang not in LANGUAGES:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang])


def t(lang: str, key: str, **values: object) -> str:
    """The message `key` in `lang`, its {placeholders} filled with `values`."""
    template = catalog(lang).pgettext(key, MESSAGES[key])
    return template.format(**values) if values else template


def tn(lang: str, key: str, n: int, **values: object) -> str:
    """A message that counts `n` of something, in the plural form `lang` uses for `n`."""
    singular, plural = PLURALS[key]
    template = catalog(lang).npgettext(key, singular, plural, n)
    return template.format(n=n, **values)


def _locale(lang: str) -> str:
    return BABEL_LOCALE.get(lang, lang if lang in LANGUAGES else "en_GB")


def format_date(value: str | None, lang: str) -> str | None:
    """An ISO date as the language writes it ("18 October 2025", "18 октября 2025 г."); a date
    that is not ISO is shown as it is."""
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return value
    return babel_format_date(day, format="long", locale=_locale(lang))


def format_span(first: str, last: str, lang: str) -> str:
    """From one date to another ("18 October 2025 – 1 March 2026"); one date when they are
    the same ("18 October 2025", not the same date twice)."""
    if first == last:
        return format_date(first, lang) or first
    return f"{format_date(first, lang)} – {format_date(last, lang)}"


def sentence(text: str) -> str:
    """`text` ending as a sentence does: an error's reason ("the file is binary, not text")
    closes the message it is put in ("I can't take bin.md: {reason}")."""
    text = text.rstrip()
    return text if not text or text.endswith((".", "!", "?", "…")) else text + "."
