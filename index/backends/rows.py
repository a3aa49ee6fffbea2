"""Passage and article rows as both engines store them (SQLite and PostgreSQL share the
columns), and `PassageRow`, what answering reads of a passage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..articles.article import Article


@dataclass(frozen=True)
class PassageRow:
    id: int
    article: Article
    ord: int
    start: int
    end: int
    text: str
    sentences: bytes | None = None  # float16 sentence vectors (see add_article)


PASSAGE_COLUMNS = (
    'p.id, p.ord, p.start, p."end", p.text, p.sentences, '
    "a.id, a.title, a.date, a.source, a.url, a.lang, a.author, a.text"
)
"""What `passage_row` reads: passages `p` joined to their articles `a` (SQLite and PostgreSQL)."""


def article_values(a: Article, file: str) -> tuple[str | None, ...]:
    """An article's row in the `articles` table, in column order (SQLite and PostgreSQL)."""
    return (a.id, file, a.title, a.date, a.source, a.url, a.lang, a.author, a.text, a.content_hash)


def passage_row(row: Sequence[Any]) -> PassageRow:
    """A `PassageRow` from a row of `PASSAGE_COLUMNS`."""
    pid, ord_, start, end, text, sents, aid, title, date, source, url, lang, author, atext = row
    article = Article(aid, atext, title, date, source, url, lang, author)
    return PassageRow(int(pid), article, ord_, start, end, text, sents)
