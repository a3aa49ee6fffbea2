"""Keeping the translations in step with `texts.py`, with Babel's own catalog tools.

    python -m bot.messages.catalogs update    # new or changed English messages into every .po file
    python -m bot.messages.catalogs compile   # .po -> .mo (what the bot loads)
    python -m bot.messages.catalogs check     # exit 1 on a missing, fuzzy or broken translation

A translator edits `bot/messages/locale/LANG/LC_MESSAGES/khabar.po` (any PO editor works), then runs
`compile`; the tests fail while a .mo file is older than its .po.
"""

from __future__ import annotations

import io
import re
import string
import sys
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from .i18n import BABEL_LOCALE, DOMAIN, LANGUAGES, LOCALE_DIR
from .texts import MESSAGES, PLURALS

HEADER = (
    "# Khabar's interface in {language}. Each message's context is its key in "
    "bot/messages/texts.py;\n"
    "# edit the translations here, then run: python -m bot.messages.catalogs compile"
)


def template() -> Catalog:
    """The English messages as a catalog template (what `update` merges into each language)."""
    catalog = Catalog(project="khabar")
    for key, text in MESSAGES.items():
        catalog.add(text, context=key)
    for key, forms in PLURALS.items():
        catalog.add(forms, context=key)
    return catalog


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read(lang: str) -> Catalog:
    with po_path(lang).open("rb") as handle:
        return read_po(handle, locale=BABEL_LOCALE.get(lang, lang), domain=DOMAIN)


def write(lang: str, catalog: Catalog) -> None:
    path = po_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    catalog.project, catalog.version, catalog.fuzzy = "khabar", "0.1", False
    catalog.header_comment = HEADER.format(language=LANGUAGES[lang])
    catalog.msgid_bugs_address = catalog.last_translator = catalog.language_team = ""
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, omit_header=False, sort_output=False)
    path.write_bytes(buffer.getvalue())


def update() -> None:
    """Add new messages (untranslated) and drop removed ones in every language's catalog."""
    source = template()
    for lang in translated():
        path = po_path(lang)
        if path.exists():
            catalog = read(lang)
            catalog.update(source, no_fuzzy_matching=True)
            catalog.obsolete.clear()
        else:
            catalog = Catalog(locale=Locale.parse(BABEL_LOCALE.get(lang, lang)), domain=DOMAIN)
            for message in source:
                if message.id:
                    catalog.add(message.id, context=message.context)
        write(lang, catalog)


def compiled(lang: str) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, read(lang))
    return buffer.getvalue()


def compile_all() -> None:
    for lang in translated():
        po_path(lang).with_suffix(".mo").write_bytes(compiled(lang))


def translated() -> list[str]:
    return [lang for lang in LANGUAGES if lang != "en"]


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _tags(text: str) -> list[str]:
    return re.findall(r"</?[a-z]+>", text)


def problems(lang: str) -> list[str]:
    """What is wrong with one language's catalog: untranslated or fuzzy messages, placeholders
    or HTML tags that differ from the English, a wrong number of plural forms, a stale .mo."""
    catalog = read(lang)
    found: list[str] = []
    by_key: dict[str, Message] = {m.context: m for m in catalog if m.id and m.context}
    for key, english in [*MESSAGES.items(), *((k, v[1]) for k, v in PLURALS.items())]:
        message = by_key.get(key)
        if (
            message is None
            or not message.string
            or (isinstance(message.string, tuple) and not all(message.string))
        ):
            found.append(f"{lang}: {key} is not translated")
            continue
        if message.fuzzy:
            found.append(f"{lang}: {key} is fuzzy (check it, then remove the flag)")
        value = message.string
        forms = [str(f) for f in value] if isinstance(value, (tuple, list)) else [str(value)]
        if key in PLURALS and len(forms) != catalog.num_plurals:
            found.append(f"{lang}: {key} has {len(forms)} forms, not {catalog.num_plurals}")
        for form in forms:
            if _fields(form) - _fields(english) or (
                key not in PLURALS and _fields(form) != _fields(english)
            ):
                found.append(f"{lang}: {key} has placeholders {_fields(form)}")
            if sorted(_tags(form)) != sorted(_tags(english)):
                found.append(f"{lang}: {key} has tags {_tags(form)}, not {_tags(english)}")
    mo = po_path(lang).with_suffix(".mo")
    if not mo.exists() or mo.read_bytes() != compiled(lang):
        found.append(f"{lang}: {mo} is out of date: run python -m bot.messages.catalogs compile")
    return found


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "check":
        found = [p for lang in translated() for p in problems(lang)]
        print("\n".join(found) or "every catalog is complete and compiled")
        return 1 if found else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
