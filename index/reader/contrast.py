"""Whose answer is it? A check of the reader's answer against the other countries its passage
names: pure.

"Who is the president of Kazakhstan?" asked of a passage on Azerbaijan's president and his
visit to Kazakhstan: the reader points at "Ilham Aliyev", sure of it. Asked the same question
with the country changed for the other one the passage names ("… of Azerbaijan?"), it points at
the same words and is surer still. So the passage answers the question for that country, not
for the one asked about, and Khabar should say it found nothing rather than name the wrong
country's president.

`contrasts` makes those questions (the question's country swapped for each other country the
passage names, in the question's own language and with its ending kept: `swaps.COUNTRIES`);
the reader reads them with the passage (`reading.ReaderStage`), and `refuted` says whether one
of them claims the answer's words by `margin` logits more than the question asked. Measured on
the training material's questions that name a country beside another (docs/reader.md, "Whose
answer is it?"): at a margin of 1, half the answers the reader gave to a question swapped to the
passage's other country are caught, and 2% of the right answers are lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from . import swaps

MOST = 2  # other countries checked at most (a passage naming many is rare; each costs a read)


class Span(Protocol):
    @property
    def score(self) -> float: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


def contrasts(question: str, q_lang: str, passage: str, p_lang: str) -> list[str]:
    """The question asked about each other country the passage names (at most MOST), when the
    question names one country and the passage names it too; [] otherwise. Names, not the
    words made from them ("Americans", "казахстанский": `swaps.countries_in`), though a
    question may be typed in lower case. The question's
    country is looked for in `q_lang`'s spelling first, then in the other languages' (a guess
    of the language may miss: Azerbaijani without "ə" reads as Turkish, but "Qazaxıstan" is
    Azerbaijani's spelling), and the other countries are written the same way."""
    if p_lang not in swaps.LANGS:
        return []
    named = swaps.countries_in(passage, p_lang, names_only=True)
    order = ([q_lang] if q_lang in swaps.LANGS else []) + [x for x in swaps.LANGS if x != q_lang]
    for lang in order:
        asked = swaps.countries_in(question, lang, names_only=True, any_case=True)
        if not asked:
            continue
        if len(asked) != 1 or asked[0] not in named:
            return []
        col = swaps.LANGS.index(lang)
        old = swaps.COUNTRIES[asked[0]][col]
        others = [swaps.COUNTRIES[i][col] for i in named if i != asked[0]]
        out = [swaps.replace_country(question, old, new) for new in others if new != old]
        return [q for q in dict.fromkeys(out) if q != question][:MOST]
    return []


def refuted(answer: Span, others: Sequence[Span | None], margin: float, passage: str) -> bool:
    """Whether a question about another country (`others`, read with the same `passage`) takes
    the answer's words (a span that overlaps the answer, or the same words elsewhere in the
    passage) scoring `margin` or more above it."""
    words = _words(passage[answer.start : answer.end])
    return any(
        other is not None
        and other.score >= answer.score + margin
        and (
            (other.start < answer.end and answer.start < other.end)
            or _words(passage[other.start : other.end]) == words
        )
        for other in others
    )


def _words(text: str) -> str:
    return " ".join(text.casefold().split()).strip(" .,;:!?\"'«»“”()")
