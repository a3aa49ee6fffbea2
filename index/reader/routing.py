"""Two readers, each reading the pairs it reads best: `within` a question with a passage in
its own language, `across` one in another language (`lexical.languages_differ`: a Kazakh
question, an English article). Each pair is read once, by one of them, so reading costs what it
did; a batch mixing both kinds runs each reader on its own part. The decision takes each
reader's scores against its own card's threshold (`decision.Rule.reader_cross_threshold`)."""

from __future__ import annotations

from collections.abc import Sequence

from ..articles.lexical import languages_differ
from . import model as reader_model
from .runtime import OnnxReader, Reading


class ByLanguage:
    """`OnnxReader`'s `read` and `read_pairs`, each pair read by the reader for its kind."""

    def __init__(self, within: OnnxReader, across: OnnxReader) -> None:
        self.within = within
        self.across = across

    @property
    def recipe(self) -> reader_model.Recipe:
        """The first reader's recipe (its thresholds in one language)."""
        return self.within.recipe

    @property
    def spin(self) -> bool:
        return self.within.spin

    @spin.setter
    def spin(self, value: bool) -> None:  # before the sessions open (bench/load/bench_spin.py)
        self.within.spin = self.across.spin = value

    def read(
        self, question: str, passages: Sequence[str], langs: Sequence[str | None] | None = None
    ) -> list[Reading | None]:
        return self.read_pairs([(question, p) for p in passages], langs)

    def read_pairs(
        self, asked: Sequence[tuple[str, str]], langs: Sequence[str | None] | None = None
    ) -> list[Reading | None]:
        """Each pair's reading, in order: by `across` where the question and the passage (in
        `langs[i]`, where declared) differ in language, else by `within`."""
        declared = list(langs) if langs else [None] * len(asked)
        across = [
            languages_differ(q, p, lang) for (q, p), lang in zip(asked, declared, strict=True)
        ]
        out: list[Reading | None] = [None] * len(asked)
        for reader, mine in ((self.within, False), (self.across, True)):
            rows = [i for i, a in enumerate(across) if a is mine]
            if not rows:
                continue
            read = reader.read_pairs(
                [asked[i] for i in rows], [declared[i] for i in rows], [mine] * len(rows)
            )
            for i, reading in zip(rows, read, strict=True):
                out[i] = reading
        return out
