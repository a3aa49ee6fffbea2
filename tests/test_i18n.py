"""The interface in six languages: complete catalogs, plural forms, dates, and every message
accepted as Telegram HTML by the local Bot API server."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from telegram import Bot
from telegram.constants import ParseMode

from bot.messages import catalogs
from bot.messages.i18n import LANGUAGES, format_date, format_span, language, t, tn
from bot.messages.texts import MESSAGES, PLURALS
from bot.testserver.client import ChatRef, ControlClient, User
from bot.testserver.server import TestServer

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("lang", catalogs.translated())
def test_catalog_is_complete_checked_and_compiled(lang: str) -> None:
    assert catalogs.problems(lang) == []


def test_a_stale_or_broken_catalog_is_reported(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import shutil

    import bot.messages.catalogs as module

    shutil.copytree(module.LOCALE_DIR, tmp_path / "locale")
    monkeypatch.setattr(module, "LOCALE_DIR", tmp_path / "locale")
    po = module.po_path("az")
    text = po.read_text("utf-8")
    text = text.replace('msgstr "Məqalələrdə bu barədə heç nə tapmadım."', 'msgstr ""')
    text = text.replace("{titles}", "{title}", 2)  # a placeholder misspelt in the translation
    po.write_text(text, "utf-8")
    found = module.problems("az")
    assert any("not_found is not translated" in p for p in found)
    assert any("closest has placeholders" in p for p in found)
    assert any("out of date" in p for p in found)


def test_every_message_is_used_by_the_bot() -> None:
    code = "\n".join(
        p.read_text(encoding="utf-8")
        for p in (ROOT / "bot").rglob("*.py")
        if p.name not in ("texts.py", "catalogs.py") and "testserver" not in p.parts
    )
    from bot.app import COMMANDS

    used = {f"cmd_{c}" for c in COMMANDS}
    unused = [
        k
        for k in [*MESSAGES, *PLURALS]
        if f'"{k}"' not in code and f"'{k}'" not in code and k not in used
    ]
    assert unused == []


def test_telegram_language_codes() -> None:
    assert [language(c) for c in ("az", "kk", "tr", "uz", "ru-RU", "en-GB")] == [
        "az",
        "kk",
        "tr",
        "uz",
        "ru",
        "en",
    ]
    assert language("uk") == "ru" and language("pt-br") == "en" and language(None) == "en"


def test_plural_forms_for_1_2_5_21() -> None:
    def known(lang: str, n: int) -> str:
        return tn(lang, "start_known", n, sources="Trend")

    assert [known("en", n) for n in (1, 2, 5, 21)] == [
        "I know 1 article from Trend.",
        "I know 2 articles from Trend.",
        "I know 5 articles from Trend.",
        "I know 21 articles from Trend.",
    ]
    words = [re.search(r"\d+ (\w+)", known("ru", n)).group(1) for n in (1, 2, 5, 21, 11, 22)]  # type: ignore[union-attr]
    assert words == ["статья", "статьи", "статей", "статья", "статей", "статьи"]
    # Turkic languages keep the noun singular after a number: one form serves them all.
    for lang, noun in (("az", "məqalə"), ("kk", "мақала"), ("tr", "makale"), ("uz", "maqola")):
        for n in (1, 2, 5, 21):
            assert re.search(rf"\b{n} (ta )?{noun}\b", known(lang, n)), (lang, n)
    assert tn("ru", "gaps_count", 2) == "2 раза" and tn("ru", "gaps_count", 5) == "5 раз"


def test_dates_per_locale() -> None:
    day = "2025-10-18"
    expected = {
        "en": "18 October 2025",
        "ru": "18 октября 2025\u202fг.",  # a narrow no-break space, as CLDR writes it
        "az": "18 oktyabr 2025",
        "kk": "2025\u202fж. 18 қазан",
        "tr": "18 Ekim 2025",
        "uz": "18-oktabr, 2025",
    }
    assert {lang: format_date(day, lang) for lang in LANGUAGES} == expected
    assert format_span(day, day, "tr") == "18 Ekim 2025"  # one day, not the same date twice
    assert format_span(day, "2026-03-01", "az") == "18 oktyabr 2025 – 1 mart 2026"
    assert format_date("spring 2025", "ru") == "spring 2025"  # not ISO: shown as written


def _sample(field: str) -> object:
    return {
        "known": tn("en", "start_known", 3, sources="Trend"),
        "dates": "\nDates: 18 October 2025.",
        "group_hint": "",
        "titles": "<i>Caspian ferry</i>",
        "topic": "gas &amp; oil",
        "url": "https://example.com/a?b=1&amp;c=2",
    }.get(field, f"<{field}>".replace("<", "&lt;").replace(">", "&gt;"))


def _filled(template: str, **extra: object) -> str:
    fields = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    return template.format(**{f: extra.get(f, _sample(f)) for f in fields})


async def test_every_message_in_every_language_goes_through_the_bot_api() -> None:
    """Each message, filled in, is sent as HTML to the local Bot API server, which parses it
    as Telegram does: unbalanced or unknown tags and stray placeholders would fail here."""
    server = await TestServer().start()
    client = ControlClient(server.url)
    bot = Bot("123456:i18n-test-token", base_url=f"{server.url}/bot")
    try:
        await bot.initialize()
        for number, lang in enumerate(LANGUAGES):
            user = User(700 + number, "Reader", lang)
            chat = ChatRef(user.id)
            await client.say(chat, user, "/start")
            texts = []
            for key in MESSAGES:
                raw = t(lang, key)
                assert raw, (lang, key)
                texts.append(_filled(raw))
            for key in PLURALS:
                for n in (1, 2, 5, 21):
                    text = tn(lang, key, n, **{f: _sample(f) for f in ("sources", "days")})
                    assert str(n) in text, (lang, key, n)
                    texts.append(text)
            for text in texts:
                sent = await bot.send_message(chat.id, text, parse_mode=ParseMode.HTML)
                assert "{" not in sent.text and "}" not in sent.text, (lang, text)
            history = (await client.history(chat.id))["messages"]
            assert sum(1 for m in history if m["from_bot"]) == len(texts)
    finally:
        await bot.shutdown()
        await client.close()
        await server.stop()
