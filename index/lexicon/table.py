"""The shipped lexicon and the English stems a question adds to lexical search. Pure but for
`load_lexicon`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import LexiconUnavailable

LEXICON_PATH = Path(__file__).with_name("lexicon.json")
FORMAT = 1
MAX_ADDED = 32  # stems a question adds at most, best first (its own stay first)

Table = Mapping[str, Sequence[tuple[str, float]]]


@dataclass(frozen=True)
class Lexicon:
    """Per language besides English: its stems' English stems, best first, with their scores."""

    to_en: Mapping[str, Table]

    def translations(self, stems: Iterable[str], lang: str) -> list[str]:
        """The English stems that say what `stems` (in `lang`) say, best first, none of `stems`
        among them; none for English (docs/lexicon.md: from English into the other languages
        was measured, and not shipped)."""
        table = self.to_en.get(lang, {})
        own = list(dict.fromkeys(stems))
        scored: dict[str, float] = {}
        for stem in own:
            for word, score in table.get(stem, ()):
                scored[word] = max(score, scored.get(word, 0.0))
        mine = set(own)
        ranked = sorted(scored.items(), key=lambda p: (-p[1], p[0]))
        return [word for word, _ in ranked if word not in mine][:MAX_ADDED]


def _table(raw: object, where: str) -> dict[str, list[tuple[str, float]]]:
    if not isinstance(raw, dict):
        raise ValueError(f"{where} is not a table")
    table: dict[str, list[tuple[str, float]]] = {}
    for stem, pairs in raw.items():
        if not isinstance(pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in pairs
        ):
            raise ValueError(f"{where}[{stem!r}] is not a list of [stem, score]")
        table[stem] = [(str(w), float(s)) for w, s in pairs]
    return table


def parse(data: Mapping[str, object]) -> Lexicon:
    """A lexicon from its JSON form; ValueError when it is not one."""
    if data.get("format") != FORMAT:
        raise ValueError(f"format {data.get('format')!r}, not {FORMAT}")
    languages = data.get("languages")
    if not isinstance(languages, dict) or not languages:
        raise ValueError("no languages")
    return Lexicon({lang: _table(table, lang) for lang, table in languages.items()})


def load_lexicon(path: Path = LEXICON_PATH) -> Lexicon:
    """The lexicon at `path`; LexiconUnavailable, saying what to do, when it cannot be read."""
    try:
        return parse(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise LexiconUnavailable(path, "it is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError, AttributeError) as exc:
        raise LexiconUnavailable(path, f"it is damaged ({exc})") from None
