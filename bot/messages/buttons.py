"""What an inline button does, written into and read from its callback data (64 bytes at most):
the one place that knows the format, so the buttons `render.py` makes are the ones the
readers' handlers (`bot/readers/browse.py`) understand."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ShowHit:
    """Show hit `index` of the question remembered as `qid`: its excerpt, or the whole passage."""

    qid: str
    index: int
    whole: bool = False

    @property
    def data(self) -> str:
        return f"{'w' if self.whole else 'n'}|{self.qid}|{self.index}"


@dataclass(frozen=True)
class ShowSources:
    """Show page `page` of the article list."""

    page: int

    @property
    def data(self) -> str:
        return f"s|{self.page}"


@dataclass(frozen=True)
class SetLanguage:
    """Speak `lang` (a code of `i18n.LANGUAGES`) with whoever pressed it, from now on."""

    lang: str

    @property
    def data(self) -> str:
        return f"l|{self.lang}"


Action = ShowHit | ShowSources | SetLanguage


def parse(data: str | None) -> Action | None:
    """The button's action, or None for data this bot did not write (or an older format)."""
    parts = (data or "").split("|")
    if len(parts) == 2 and parts[0] == "l" and parts[1].isalpha() and len(parts[1]) <= 8:
        return SetLanguage(parts[1])
    if len(parts) == 2 and parts[0] == "s" and parts[1].isdigit():
        return ShowSources(int(parts[1]))
    # "e" (back to the excerpt) was written by earlier versions; it means what "n" means.
    if len(parts) == 3 and parts[0] in ("n", "w", "e") and parts[1] and parts[2].isdigit():
        return ShowHit(parts[1], int(parts[2]), whole=parts[0] == "w")
    return None
