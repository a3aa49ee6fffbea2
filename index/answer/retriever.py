"""Answering: a question in, ranked cited hits out, each with the excerpt a reader sees."""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
from collections.abc import Collection, Iterator, Sequence

import numpy as np

from ..articles import lexical as words
from ..articles.article import Article
from ..backends import backend_for
from ..backends.base import OpenIndex, TextReader
from ..backends.rows import PassageRow
from ..build.manifest import Manifest
from ..errors import IndexMismatch
from ..lexicon import LEXICON_PATH, Lexicon, load_lexicon
from ..model.embedder import Embedder
from ..settings import Settings
from . import fusion
from .decision import Rule, decide, rule_for, sure
from .excerpt import choose_excerpt
from .followup import Context, follow
from .hits import Answer, Hit, IndexInfo
from .reading import ReaderStage

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
CANDIDATES = 50  # per ranking, before fusion


def _rows_in_order(
    text: TextReader, ranked: Sequence[tuple[int, float]], step: int
) -> Iterator[tuple[float, PassageRow | None]]:
    """The ranked passages' scores and rows, read `step` at a time as the caller goes on (a question
    needs about k of its ~90 candidates; reading them all took a tenth of its time)."""
    for begin in range(0, len(ranked), step):
        chunk = ranked[begin : begin + step]
        rows = text.passages([pid for pid, _ in chunk])
        yield from ((score, rows.get(pid)) for pid, score in chunk)


def _same_passage(a: Hit, b: Hit) -> bool:
    return a.article_id == b.article_id and a.passage_start == b.passage_start


def normalize_question(question: str) -> str:
    question = re.sub(r"\s+", " ", question).strip()
    return question[:MAX_QUESTION_CHARS]


class Retriever:
    """Searches the published index; `refresh()` switches to a newer one without a restart."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        # With the reader on, two ONNX sessions take turns on every question: neither spins.
        self.embedder = embedder or Embedder.from_settings(settings, spin=settings.reader == "off")
        if self.embedder.name != settings.model:
            raise ValueError(f"embedder {self.embedder.name!r} is not the model {settings.model!r}")
        self._lock = threading.Lock()
        self.lexicon: Lexicon | None = None
        self._english: dict[str, bool] = {}
        if settings.lexicon == "on" and settings.retriever != "dense":
            self.lexicon = load_lexicon(settings.lexicon_path or LEXICON_PATH)
        self._snapshot = self._load()
        self.reader: ReaderStage | None = None
        if settings.reader == "on":
            self.reader = ReaderStage.from_settings(settings)

    @property
    def threshold(self) -> float:
        """The cosine under which the cosine rule declines (reader off, or unread hits)."""
        return self.rule.threshold

    def _load(self) -> OpenIndex:
        opened = backend_for(self.settings).open(search=self.settings.retriever != "dense")
        self._check_manifest(opened.manifest, opened.where)
        if self.lexicon is not None:
            self._holds_english(opened)  # here, at start and on refresh, not on a question
        return opened

    def _check_manifest(self, manifest: Manifest, where: str) -> None:
        """Warn of an index stemmed otherwise; refuse one built with another model."""
        if manifest.stems_version != words.STEMS_VERSION:
            log.warning(
                "the index in %s was built with older word stems: questions in Uzbek match its "
                'articles worse until "khabar index build" rebuilds it',
                where,
            )
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

    @property
    def rule(self) -> Rule:
        """The answer rule (`decision.decide`) for these settings and this reader."""
        if self.reader is None:
            return rule_for(self.settings)
        return rule_for(
            self.settings,
            self.reader.threshold,
            self.reader.floor,
            self.reader.cross_floor,
            self.reader.cross_threshold,
        )

    def answer(self, question: str, k: int | None = None, context: Context | None = None) -> Answer:
        """Search, read, then decide (`decision.decide`): the bot, `khabar ask` and
        `khabar eval` all answer through here; `context` is the conversation's previous
        question, for a follow-up (`answer_many`)."""
        return self.answer_many([question], [k], [context])[0]

    def answer_many(
        self,
        questions: Sequence[str],
        ks: Sequence[int | None] | None = None,
        contexts: Sequence[Context | None] | None = None,
    ) -> list[Answer]:
        """`answer` for several questions, their vectors computed in one batch and their
        passages read together (the model's cost per question falls when the bot is busy);
        the same answers as one by one.

        A question asked with a `context` (its conversation's previous question) is a
        follow-up (`followup.follow`): its answer alone, or the one found by searching it with
        the previous question's words, read on its own words and decided on the mean of the
        carried search's cosine and its own (judged on its own alone, "Where was it founded?"
        is too vague to pass; on the carried cosine alone, a new subject would pass wherever
        the previous words lead). Nothing more is read where the reader is sure of the answer
        alone (`decision.sure`: a new subject, mostly), nor where the carried search leads to
        the passage the answer alone showed: the reader would trust it no more. The carried
        texts of the batch are encoded together, each scored with its question's vector.
        """
        ks = list(ks) if ks is not None else [None] * len(questions)
        contexts = list(contexts) if contexts is not None else [None] * len(questions)
        cleaned = [normalize_question(q) for q in questions]
        asked = [q for q in cleaned if q]
        vectors = iter(self.encode(asked) if asked else [])
        own = [next(vectors) if q else None for q in cleaned]
        found = [
            self.search_vector(clean, vector, k) if vector is not None else []
            for clean, vector, k in zip(cleaned, own, ks, strict=True)
        ]
        rule = self.rule
        read = self._read(cleaned, found, rule)
        answers = [decide(q, hits, rule) for q, hits in zip(questions, read, strict=True)]
        # Follow-ups: searched again with their conversation's words, unless the reader is
        # sure of the answer alone; their carried texts encoded together.
        followed = [
            (i, context)
            for i, (context, alone) in enumerate(zip(contexts, answers, strict=True))
            if context is not None and cleaned[i] and not self._sure(alone, rule)
        ]
        carried = [context.carried(cleaned[i]) for i, context in followed]
        again: list[tuple[int, Context]] = []
        hits_again: list[list[Hit]] = []
        for (i, context), text, vector in zip(
            followed, carried, self.encode(carried) if carried else [], strict=True
        ):
            hits = self.search_vector(text, vector, ks[i], scored_by=own[i])
            alone = answers[i]
            if hits and not (alone.found and _same_passage(hits[0], alone.shown[0])):
                again.append((i, context))
                hits_again.append(hits)
        read = self._read([cleaned[i] for i, _ in again], hits_again, rule)
        for (i, context), hits in zip(again, read, strict=True):
            answers[i] = follow(answers[i], decide(questions[i], hits, rule), context)
        return answers

    def _sure(self, answer: Answer, rule: Rule) -> bool:
        """Whether the reader is sure of the passage `answer` shows first (`decision.sure`)."""
        if self.reader is None or not answer.found:
            return False
        return sure(answer.shown[0], rule, self.reader.confident)

    def _read(
        self, questions: Sequence[str], found: Sequence[list[Hit]], rule: Rule
    ) -> list[list[Hit]]:
        """Each question's hits read by the reader (when on), all the passages together."""
        if self.reader is None:
            return list(found)
        pending = [(q, h) for q, h in zip(questions, found, strict=True) if h]
        read = iter(self.reader.read_many(pending, rule) if pending else [])
        return [next(read) if hits else hits for hits in found]

    def answer_within(
        self, question: str, article_ids: Collection[str], k: int | None = None
    ) -> Answer:
        """`answer`, but over the passages of `article_ids` only (the articles just indexed,
        for /follow's alerts): ranked by the model, read, and decided by the same rule as
        every answer, however many older articles would rank above them, with one difference:
        a topic is not a question, so the reader's "no answer here" does not rule a passage
        out (its "this answers" still rules one in; the cosine rule decides the rest)."""
        clean = normalize_question(question)
        snap = self._snapshot
        ids = snap.text.passage_ids(article_ids) if clean else []
        if not ids:
            return decide(question, [], self.rule)
        vector = self.encode([clean])[0]
        cosines = snap.vectors.vectors(np.array(ids, dtype=np.int64)) @ vector
        ranked = sorted(zip(ids, (float(c) for c in cosines), strict=True), key=lambda p: -p[1])
        top = ranked[: k or self.settings.results]
        rows = snap.text.passages([pid for pid, _ in top])
        similar = self._sentence_similarity
        hits = [
            self._hit(rank, rows[pid], score, clean, similar(snap, rows[pid], vector))
            for rank, (pid, score) in enumerate(top, start=1)
            if pid in rows
        ]
        topical = dataclasses.replace(self.rule, reader_floor=None, reader_cross_floor=None)
        if self.reader is not None and hits:
            hits = self.reader.read(clean, hits, topical)
        return decide(question, hits, topical)

    def search(self, question: str, k: int | None = None) -> list[Hit]:
        question = normalize_question(question)
        if not question:
            return []
        return self.search_vector(question, self.encode([question])[0], k)

    def search_stems(self, question: str, snap: OpenIndex | None = None) -> list[str]:
        """What lexical search looks for: the question's stems, then its stems in English
        (`translations`), each made once."""
        own = words.query_terms(question)
        return words.with_also(own, self._translated(question, own, snap))

    def translations(self, question: str, snap: OpenIndex | None = None) -> list[str]:
        """The question's stems in English, for lexical search: none for an English question,
        none without the lexicon, and none where the index holds no English article (there
        they could only match English words quoted in other languages' articles)."""
        return self._translated(question, words.query_terms(question), snap)

    def _translated(self, question: str, own: list[str], snap: OpenIndex | None) -> list[str]:
        snap = snap or self._snapshot
        if self.lexicon is None or not self._holds_english(snap):
            return []
        return self.lexicon.translations(own, words.guess_language(question))

    def _holds_english(self, snap: OpenIndex) -> bool:
        """Whether some article of `snap` is in English (declared, or guessed from its title);
        asked once per published index, when it is loaded (`_load`: at start, and on refresh,
        off the questions' path), and remembered for it and the one before it, which may still
        be answering (with PostgreSQL, an incremental build's first English article counts
        from the next restart or full rebuild)."""
        known = self._english.get(snap.key)
        if known is None:
            known = any(words.guess_language(a.title, a.lang) == "en" for a in snap.text.articles())
            kept = list(self._english.items())[-1:]  # the index answering until the switch
            self._english = dict([*kept, (snap.key, known)])
        return known

    def _rank(
        self, snap: OpenIndex, question: str, vector: np.ndarray, n: int
    ) -> list[tuple[int, float]]:
        """(passage id, cosine) best first, by the configured retriever."""
        mode = self.settings.retriever
        dense: list[tuple[int, float]] = []
        if mode != "lexical":
            scores, ids = snap.vectors.search(vector[None, :], n)
            dense = [(int(i), float(s)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]
            if mode == "dense":
                return dense
        lexical = snap.text.lexical_search(self.search_stems(question, snap), n)
        cosine = dict(dense)
        missing = [pid for pid, _ in lexical if pid not in cosine]
        if missing:
            found = snap.vectors.vectors(np.array(missing, dtype=np.int64)) @ vector
            cosine.update(zip(missing, (float(c) for c in found), strict=True))
        if mode == "lexical":
            return [(pid, cosine[pid]) for pid, _ in lexical]
        return fusion.fuse(dense, lexical, cosine, self.settings.hybrid_weight)

    def search_vector(
        self,
        question: str,
        vector: np.ndarray,
        k: int | None = None,
        scored_by: np.ndarray | None = None,
    ) -> list[Hit]:
        """The top `k` passages for `question` searched as `vector`; each hit's score is its
        cosine to `vector`, or, with `scored_by`, the mean of that and its cosine to
        `scored_by` (a follow-up searched with the conversation's words, judged half on its
        own: `answer_many`)."""
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
        if scored_by is not None and chosen:
            ids = np.array([row.id for row, _ in chosen], dtype=np.int64)
            own = snap.vectors.vectors(ids) @ scored_by
            chosen = [
                (row, (score + float(c)) / 2) for (row, score), c in zip(chosen, own, strict=True)
            ]
        return [
            self._hit(rank, row, score, question, self._sentence_similarity(snap, row, vector))
            for rank, (row, score) in enumerate(chosen, start=1)
        ]

    @staticmethod
    def _sentence_similarity(snap: OpenIndex, row: PassageRow, vector: np.ndarray) -> list[float]:
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
            sentence_similarity=tuple(dense or ()),
        )
