"""What answering gives back: `Hit` (one cited passage with its excerpt), `Answer` (the hits
and whether Khabar answers at all) and `IndexInfo`. Plain values, so every stage of answering,
the bot and the command line can use them without importing answering's machinery."""

from __future__ import annotations

from dataclasses import dataclass

from ..build.manifest import Manifest


@dataclass(frozen=True)
class Hit:
    """One search result. Offsets are character offsets into the article's text."""

    rank: int
    score: float
    article_id: str
    title: str
    date: str | None
    source: str | None
    url: str | None
    lang: str | None
    passage: str
    passage_start: int
    passage_end: int
    excerpt: str
    excerpt_start: int
    excerpt_end: int
    answer_start: int
    answer_end: int
    # The model's similarity of the question to the passage's closest sentence (by the stored
    # sentence vectors); the passage's own cosine when it has none.
    sentence_score: float
    # How sure the reader is that the passage answers (span score minus no-answer score), when
    # it read the passage; None when it did not (reader off, or ranked below what it reads).
    reader_score: float | None = None
    # The model's similarity of the question to each sentence of the passage (stored sentence
    # vectors), for the reader's stage to choose the excerpt again; empty when there are none.
    sentence_similarity: tuple[float, ...] = ()
    # The question asked about another country the passage names, which the reader's answer
    # fits better (`reader.contrast`): the answer is that country's, not the one asked about,
    # and the passage does not answer. None: not checked, or the answer is the question's own.
    contrast: str | None = None

    @property
    def bold(self) -> str:
        """What the reply shows in bold: the reader's answer span, or the answering sentence."""
        return self.passage[
            self.answer_start - self.passage_start : self.answer_end - self.passage_start
        ]

    def as_json(self) -> dict[str, object]:
        return {
            "rank": self.rank,
            "score": round(self.score, 4),
            "article_id": self.article_id,
            "title": self.title,
            "date": self.date,
            "source": self.source,
            "url": self.url,
            "passage": self.passage,
            "excerpt": self.excerpt,
            "answer": self.bold,
            "reader_score": None if self.reader_score is None else round(self.reader_score, 3),
            "contrast": self.contrast,
        }


@dataclass(frozen=True)
class IndexInfo:
    generation: str  # the published generation: a folder, or a PostgreSQL schema
    manifest: Manifest
    articles: int
    passages: int


@dataclass(frozen=True)
class Answer:
    """What a reader gets for a question: the hits worth showing, or none (`found` False)."""

    question: str
    hits: list[Hit]  # every hit, ranked; when nothing is found, the closest ones
    found: bool
    shown: list[Hit]  # the hits a reader pages through
    # For a follow-up answered through the conversation's previous question (`followup.py`):
    # the article that question was answered from (or the question); None for one answered
    # on its own.
    continued_from: str | None = None
