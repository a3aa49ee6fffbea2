"""Answering: a question in, ranked cited hits out, each with the excerpt a reader sees."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from . import fusion, layout, lexical
from .articles import Article
from .embedder import Embedder
from .errors import IndexMismatch, IndexNotBuilt
from .excerpt import choose_excerpt
from .manifest import Manifest
from .settings import Settings
from .textstore import FILE_NAME as SQLITE_FILE
from .textstore import PassageRow, TextStore
from .vectorstore import VectorSearch, load_store

MAX_QUESTION_CHARS = 2000
CANDIDATES = 50  # per ranking, before fusion
# The best cosine under which Khabar says it found nothing, per model, set by measurement
# (bench/decline_rule.py; docs/quality.md): e5's similarities are high and close together.
DEFAULT_THRESHOLDS = {"multilingual-e5-small": 0.832, "all-minilm-l6-v2": 0.30}
# The cosine gets a bonus for the share of the question's words found in the passage: for e5,
# at the same 90% of unanswerable questions declined, answerable ones declined fell from
# 15% to 4% (xquad-en) and 13% to 10% (news).
COVERAGE_WEIGHT = {"multilingual-e5-small": 0.04}
FALLBACK_THRESHOLD = 0.30
# Across languages (a Russian question, an English passage) the same model's cosines run
# lower: for e5, answerable Russian-to-English pairs sat 0.067 under English-to-English ones.
CROSS_LANGUAGE_OFFSET = {"multilingual-e5-small": 0.063}
# Across languages the cosine alone answers a third of unanswerable questions (Russian ones
# against English news). What tells them apart better is how far the top hit leads the best
# passage of any other article: an answer also needs cosine + weight x lead >= threshold
# (docs/quality.md: on held-out questions 82% of those declined instead of 64%, for 2.2
# points of answer@1).
CROSS_LANGUAGE_LEAD = {"multilingual-e5-small": (3.0, 0.80)}


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
        }


@dataclass(frozen=True)
class Answer:
    """What a reader gets for a question: the hits worth showing, or none (`found` False)."""

    question: str
    hits: list[Hit]  # every hit, ranked; when nothing is found, the closest ones
    found: bool
    shown: list[Hit]  # the hits a reader pages through: those over the threshold


@dataclass(frozen=True)
class IndexInfo:
    generation: str  # the published generation: a folder, or a PostgreSQL schema
    manifest: Manifest
    articles: int
    passages: int


class TextReader(Protocol):
    """What answering reads besides vectors: SQLite (`TextStore`) or PostgreSQL (`PgIndex`)."""

    def passages(self, ids: Sequence[int]) -> dict[int, PassageRow]: ...
    def lexical_search(self, question: str, k: int) -> list[tuple[int, float]]: ...
    def counts(self) -> tuple[int, int]: ...
    def articles(self) -> list[Article]: ...


class _Snapshot:
    def __init__(
        self,
        key: str,
        manifest: Manifest,
        vectors: VectorSearch,
        text: TextReader,
        published: Callable[[], str | None],
    ):
        self.key = key
        self.published = published  # the key of the index published now (cheap to ask)
        self.manifest = manifest
        self.vectors = vectors
        self.text = text


def _rows_in_order(
    text: TextReader, ranked: Sequence[tuple[int, float]], step: int
) -> Iterator[tuple[float, PassageRow | None]]:
    """The ranked passages' scores and rows, read `step` at a time as the caller goes on (a question
    needs about k of its ~90 candidates; reading them all took a tenth of its time)."""
    for begin in range(0, len(ranked), step):
        chunk = ranked[begin : begin + step]
        rows = text.passages([pid for pid, _ in chunk])
        yield from ((score, rows.get(pid)) for pid, score in chunk)


def normalize_question(question: str) -> str:
    question = re.sub(r"\s+", " ", question).strip()
    return question[:MAX_QUESTION_CHARS]


def across_languages(question: str, hit: Hit) -> bool:
    """Whether the question and the hit's passage are in different languages."""
    return lexical.guess_language(question) != lexical.guess_language(hit.passage, hit.lang)


def stands_out(question: str, hits: Sequence[Hit], rule: tuple[float, float] | None) -> bool:
    """Across languages, whether the top hit leads the best passage of the other articles by
    enough: cosine + weight x lead >= threshold, for `rule` = (weight, threshold). Always true
    in one language, without a rule, or when the hits are all from one article."""
    top = hits[0]
    if rule is None or not across_languages(question, top):
        return True
    others = [h.score for h in hits if h.article_id != top.article_id]
    if not others:
        return True
    weight, threshold = rule
    return top.score + weight * (top.score - max(others)) >= threshold


def default_threshold(model: str) -> float:
    known = {name.lower(): value for name, value in DEFAULT_THRESHOLDS.items()}
    return known.get(model.lower(), FALLBACK_THRESHOLD)


class Retriever:
    """Searches the published index; `refresh()` switches to a newer one without a restart."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder.from_settings(settings)
        if self.embedder.name != settings.model:
            raise ValueError(f"embedder {self.embedder.name!r} is not the model {settings.model!r}")
        self._lock = threading.Lock()
        self._snapshot = self._load()

    @property
    def threshold(self) -> float:
        if self.settings.score_threshold is not None:
            return self.settings.score_threshold
        return default_threshold(self.settings.model)

    def _load(self) -> _Snapshot:
        read_url = self.settings.read_url()
        if read_url is not None:
            from .pg_store import PgIndex

            pg = PgIndex(
                read_url,
                self.settings.database_index,
                exact_below=self.settings.ann_min_vectors,
                ef_search=self.settings.hnsw_ef_search,
            )
            self._check_model(pg.manifest, f"PostgreSQL (index {pg.name!r})")
            return _Snapshot(pg.key, pg.manifest, pg, pg, pg.published_key)
        index_dir = self.settings.index_dir
        generation = layout.current_generation(index_dir)
        if generation is None:
            raise IndexNotBuilt(index_dir)
        manifest = Manifest.load(generation)
        manifest.check_files(generation)
        self._check_model(manifest, str(index_dir))
        vectors = load_store(
            manifest.store, generation, manifest.dimension, **self.settings.store_options
        )
        text = TextStore.open_readonly(generation / SQLITE_FILE)
        if self.settings.retriever != "dense":
            text.prepare_search()
        return _Snapshot(str(generation), manifest, vectors, text, self._current_folder)

    def _current_folder(self) -> str | None:
        generation = layout.current_generation(self.settings.index_dir)
        return None if generation is None else str(generation)

    def _check_model(self, manifest: Manifest, where: str) -> None:
        if manifest.model != self.settings.model:
            raise IndexMismatch(
                f"the index in {where} was built with the model {manifest.model!r}, but the "
                f'settings name {self.settings.model!r} — run "khabar index build" to rebuild '
                f"it, or set KHABAR_MODEL={manifest.model}"
            )

    def refresh(self) -> bool:
        """Load a newer published index if there is one; True when it switched. (With
        PostgreSQL, incremental builds show at once; a full rebuild is a new schema.)"""
        key = self._snapshot.published()
        if key is None or key == self._snapshot.key:
            return False
        fresh = self._load()
        with self._lock:
            self._snapshot = fresh  # the old text store closes when the last search drops it
        return True

    def info(self) -> IndexInfo:
        snap = self._snapshot
        articles, passages = snap.text.counts()
        return IndexInfo(snap.key, snap.manifest, articles, passages)

    def articles(self) -> list[Article]:
        return self._snapshot.text.articles()

    def encode(self, questions: list[str]) -> np.ndarray:
        """Question vectors (with the index's query prompt). CPU-bound: call off the event loop."""
        prompt = self.settings.query_prompt
        if prompt is None:
            prompt = self._snapshot.manifest.query_prompt
        return self.embedder.encode_with_prompt(questions, prompt)

    def threshold_for(self, question: str, hit: Hit) -> float:
        """The threshold, lowered when the question and the passage are in different languages."""
        offset = 0.0
        if across_languages(question, hit):
            offset = CROSS_LANGUAGE_OFFSET.get(self.settings.model.lower(), 0.0)
        return self.threshold - offset

    def confidence(self, question: str, hit: Hit) -> float:
        """The hit's cosine, plus a small bonus for the question's words it contains."""
        weight = COVERAGE_WEIGHT.get(self.settings.model.lower(), 0.0)
        if not weight:
            return hit.score
        return hit.score + weight * lexical.coverage(question, f"{hit.title}\n{hit.passage}")

    def answer(self, question: str, k: int | None = None) -> Answer:
        """Search, then decide: an answer only when the best hit clears the threshold."""
        return self._decide(question, self.search(question, k))

    def answer_many(
        self, questions: Sequence[str], ks: Sequence[int | None] | None = None
    ) -> list[Answer]:
        """`answer` for several questions, their vectors computed in one batch (the model's
        cost per question falls when the bot is busy); same answers as one by one."""
        ks = list(ks) if ks is not None else [None] * len(questions)
        cleaned = [normalize_question(q) for q in questions]
        asked = [q for q in cleaned if q]
        vectors = iter(self.encode(asked) if asked else [])
        answers = []
        for question, clean, k in zip(questions, cleaned, ks, strict=True):
            hits = self.search_vector(clean, next(vectors), k) if clean else []
            answers.append(self._decide(question, hits))
        return answers

    def _decide(self, question: str, hits: list[Hit]) -> Answer:
        shown = [h for h in hits if self.confidence(question, h) >= self.threshold_for(question, h)]
        found = bool(shown) and shown[0] is hits[0] and stands_out(question, hits, self.lead_rule())
        return Answer(question, hits, found, shown if found else [])

    def lead_rule(self) -> tuple[float, float] | None:
        """The model's cross-language lead rule, unless a threshold of one's own is set."""
        if self.settings.score_threshold is not None:
            return None
        return CROSS_LANGUAGE_LEAD.get(self.settings.model.lower())

    def search(self, question: str, k: int | None = None) -> list[Hit]:
        question = normalize_question(question)
        if not question:
            return []
        return self.search_vector(question, self.encode([question])[0], k)

    def _rank(
        self, snap: _Snapshot, question: str, vector: np.ndarray, n: int
    ) -> list[tuple[int, float]]:
        """(passage id, cosine) best first, by the configured retriever."""
        mode = self.settings.retriever
        dense: list[tuple[int, float]] = []
        if mode != "lexical":
            scores, ids = snap.vectors.search(vector[None, :], n)
            dense = [(int(i), float(s)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]
            if mode == "dense":
                return dense
        lexical = snap.text.lexical_search(question, n)
        cosine = dict(dense)
        missing = [pid for pid, _ in lexical if pid not in cosine]
        if missing:
            found = snap.vectors.vectors(np.array(missing, dtype=np.int64)) @ vector
            cosine.update(zip(missing, (float(c) for c in found), strict=True))
        if mode == "lexical":
            return [(pid, cosine[pid]) for pid, _ in lexical]
        return fusion.fuse(dense, lexical, cosine, self.settings.hybrid_weight)

    def search_vector(self, question: str, vector: np.ndarray, k: int | None = None) -> list[Hit]:
        k = k or self.settings.results
        snap = self._snapshot
        ranked = self._rank(snap, question, vector, max(k * 3, CANDIDATES))
        chosen: list[tuple[PassageRow, float]] = []
        taken: dict[str, list[tuple[int, int]]] = {}
        for score, row in _rows_in_order(snap.text, ranked, 2 * k):
            if row is None:
                continue
            spans = taken.setdefault(row.article.id, [])
            half = (row.end - row.start) / 2
            if any(min(row.end, e) - max(row.start, s) > half for s, e in spans):
                continue  # mostly the same text as a better passage: nothing new to show
            spans.append((row.start, row.end))
            chosen.append((row, score))
            if len(chosen) == k:
                break
        return [
            self._hit(rank, row, score, question, self._sentence_similarity(snap, row, vector))
            for rank, (row, score) in enumerate(chosen, start=1)
        ]

    @staticmethod
    def _sentence_similarity(snap: _Snapshot, row: PassageRow, vector: np.ndarray) -> list[float]:
        """The question's similarity to each sentence of the passage, from the sentence vectors
        stored at indexing time (pooled from the passage's token embeddings)."""
        if not row.sentences:
            return []
        matrix = np.frombuffer(row.sentences, dtype=np.float16).reshape(-1, snap.manifest.dimension)
        return [float(x) for x in matrix.astype(np.float32) @ vector]

    def _hit(
        self, rank: int, row: PassageRow, score: float, question: str, dense: list[float] | None
    ) -> Hit:
        ex = choose_excerpt(
            row.text,
            question,
            self.settings.excerpt_max_sentences,
            self.settings.excerpt_max_words,
            dense=dense or None,
        )
        a = row.article
        return Hit(
            rank=rank,
            score=score,
            article_id=a.id,
            title=a.title,
            date=a.date,
            source=a.source,
            url=a.url,
            lang=a.lang,
            passage=row.text,
            passage_start=row.start,
            passage_end=row.end,
            excerpt=row.text[ex.start : ex.end],
            excerpt_start=row.start + ex.start,
            excerpt_end=row.start + ex.end,
            answer_start=row.start + ex.best_start,
            answer_end=row.start + ex.best_end,
            sentence_score=max(dense) if dense else score,
        )
