"""`khabar lexicon train`: the lexicon from the parallel sentences of `../shared/train`.

Reads `parallel/ntrex.jsonl` (news sentences, each with its translations) and
`parallel/tatoeba.jsonl` (everyday sentences, one language and English), stems both sides as
lexical search does (`lexical.terms`), aligns them (`align`) and writes the tables with a card:
the sources, their licences and how many pairs each language had.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from ..articles import lexical
from ..errors import KhabarError
from .align import FLOOR, ITERATIONS, KEEP, align
from .table import FORMAT, LEXICON_PATH

SOURCES = {
    "parallel/ntrex.jsonl": "NTREX-128 (Microsoft), CC BY-SA 4.0",
    "parallel/tatoeba.jsonl": "Tatoeba, CC BY 2.0 FR",
}


def sentence_pairs(data: Path, lang: str) -> Iterator[tuple[str, str]]:
    """(sentence in `lang`, its English) from every parallel file that has the language."""
    for name in SOURCES:
        path = data / name
        if not path.is_file():
            continue
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                row = json.loads(line)
                if "lang" in row:  # Tatoeba: one language a row
                    text = row["text"] if row["lang"] == lang else None
                else:  # NTREX: every language a row
                    text = row.get(lang)
                if text and row.get("en"):
                    yield str(text), str(row["en"])


def train(data: Path, out: Path = LEXICON_PATH) -> dict[str, object]:
    """Align every language of lexical search with English; write the lexicon to `out`
    atomically and return its card."""
    missing = [name for name in SOURCES if not (data / name).is_file()]
    if len(missing) == len(SOURCES):
        raise KhabarError(
            f"no parallel sentences in {data}: the lexicon learns from {' and '.join(SOURCES)} "
            "(../shared/train)"
        )
    started = time.monotonic()
    languages: dict[str, object] = {}
    pairs: dict[str, int] = {}
    for lang in (code for code in lexical.LANGUAGES if code != "en"):
        rows = list(sentence_pairs(data, lang))
        theirs = [list(dict.fromkeys(lexical.terms(text, lang))) for text, _ in rows]
        english = [list(dict.fromkeys(lexical.terms(en, "en"))) for _, en in rows]
        languages[lang] = align(theirs, english)
        pairs[lang] = len(rows)
    card = {
        "what": "stem to stem translations for lexical search (docs/lexicon.md)",
        "method": f"IBM Model 1 both ways, {ITERATIONS} iterations; sqrt(p(e|f) p(f|e)) >= "
        f"{FLOOR}, best {KEEP} a stem",
        "sources": {name: SOURCES[name] for name in SOURCES if name not in missing},
        "sentence_pairs": pairs,
        "seconds": round(time.monotonic() - started, 1),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with partial.open("w", encoding="utf-8") as f:
        json.dump(
            {"format": FORMAT, "card": card, "languages": languages},
            f,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        f.flush()
        os.fsync(f.fileno())
    partial.replace(out)
    return card
