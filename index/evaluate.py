"""`khabar eval`: how often the excerpt a reader sees first contains the answer.

Reads the layout of an evaluation set (DIR/corpus/*.md, DIR/questions.jsonl), indexes the corpus
into a throw-away index cached by content (a second run does not re-embed), asks every question
through `Retriever.answer` and the bot's reply renderer, and reports the metrics.
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .answer.retriever import Answer, Retriever
from .backends.choose import build_index
from .errors import KhabarError
from .reader.score import token_f1
from .settings import Settings

RenderFn = Callable[[Answer], str]


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: list[str]
    article: str


def load_questions(path: Path) -> list[Question]:
    if not path.is_file():
        raise KhabarError(f"{path} is missing: an evaluation set needs questions.jsonl")
    out = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                out.append(
                    Question(
                        str(row["id"]), row["question"], list(row["answers"]), str(row["article"])
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise KhabarError(f"{path} line {number} is not a question ({exc})") from None
    return out


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    haystack = normalise(text)
    return any(normalise(a) and normalise(a) in haystack for a in answers)


def article_of(article_id: str) -> str:
    """The evaluation sets name articles by file name without `.md`."""
    return re.sub(r"\.md$", "", article_id.rsplit("/", 1)[-1])


def corpus_key(corpus: Path, settings: Settings) -> str:
    digest = hashlib.sha256()
    for path in sorted(corpus.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(corpus).as_posix().encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    recipe = [
        settings.model,
        settings.chunk_tokens,
        settings.chunk_overlap_tokens,
        settings.passage_prompt,
    ]
    if settings.precision != "float32":
        recipe.append(settings.precision)
    if settings.bulk_encoder != "auto" and settings.precision == "float32":
        recipe.append(f"bulk-{settings.bulk_encoder}")
    if settings.sentence_vectors != "pooled":
        recipe.append(f"sentences-{settings.sentence_vectors}")
    digest.update(json.dumps(recipe).encode())
    return digest.hexdigest()[:16]


def eval_settings(settings: Settings, corpus: Path) -> Settings:
    """Settings whose index is the cached throw-away index of `corpus`."""
    key = corpus_key(corpus, settings)
    cache = settings.data_dir / "eval-cache" / key
    # With PostgreSQL, the throw-away index is a named index of its own in the database.
    return settings.with_overrides(corpus_dir=corpus, index_dir=cache, database_index=f"eval_{key}")


def prepare(settings: Settings, corpus: Path) -> Retriever:
    local = eval_settings(settings, corpus)
    build_index(local)  # incremental: nothing to do on a second run
    return Retriever(local)


def run_questions(
    retriever: Retriever, questions: list[Question], render: RenderFn | None
) -> dict[str, Any]:
    ranks_article: list[int | None] = []
    passage1 = answer1 = answer3 = declined = 0
    f1 = 0.0
    words: list[int] = []
    times: list[float] = []
    by_language: dict[str, dict[str, int]] = {}
    for q in questions:
        started = time.perf_counter()
        answer = retriever.answer(q.question, k=10)
        if render is not None:
            render(answer)
        times.append((time.perf_counter() - started) * 1000)
        articles = list(dict.fromkeys(article_of(h.article_id) for h in answer.hits))
        ranks_article.append(articles.index(q.article) + 1 if q.article in articles else None)
        if answer.hits and contains_answer(answer.hits[0].passage, q.answers):
            passage1 += 1
        first_holds = answer.found and contains_answer(answer.shown[0].excerpt, q.answers)
        lang = language_of(q.id)
        if lang:
            tally = by_language.setdefault(lang, dict.fromkeys(LANGUAGE_COUNTS, 0))
            tally["questions"] += 1
            tally["declined"] += not answer.found
            tally["answer@1"] += first_holds
            tally["passages@3"] += any(
                contains_answer(h.passage, q.answers) for h in answer.hits[:3]
            )
        if not answer.found:
            declined += 1
            continue
        shown = answer.shown
        words.append(len(shown[0].excerpt.split()))
        f1 += token_f1(shown[0].bold, q.answers)
        answer1 += first_holds
        if any(contains_answer(h.excerpt, q.answers) for h in shown[:3]):
            answer3 += 1
    n = max(len(questions), 1)
    ordered = sorted(times)
    return {
        "questions": len(questions),
        "article@1": _pct(sum(1 for r in ranks_article if r == 1), n),
        "article@5": _pct(sum(1 for r in ranks_article if r is not None and r <= 5), n),
        "mrr@10": round(sum(1 / r for r in ranks_article if r is not None and r <= 10) / n, 4),
        "passage_answer@1": _pct(passage1, n),
        "answer@1": _pct(answer1, n),
        "answer@3": _pct(answer3, n),
        "span_f1": round(f1 / n, 4),
        "not_found": round(declined / n, 4),
        "excerpt_words": statistics.median(words) if words else 0,
        "p50_ms": round(statistics.median(ordered), 2) if ordered else 0.0,
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2) if ordered else 0.0,
        **({"by_language": by_language} if by_language else {}),
    }


# Per language, as counts (a region set has 19 questions a language): questions, those whose
# excerpt shown first holds the answer, those whose first three passages hold it, declined.
LANGUAGE_COUNTS = ("questions", "answer@1", "passages@3", "declined")
LANGUAGE_SUFFIX = re.compile(r"-([a-z]{2})$")


def language_of(question_id: str) -> str:
    """The language a question is asked in, when its set's ids end with it ("palu-killed-kk",
    as in news-region); "" otherwise."""
    found = LANGUAGE_SUFFIX.search(question_id)
    return found.group(1) if found else ""


def declines(retriever: Retriever, questions: list[Question]) -> tuple[float, dict[str, float]]:
    """The share of `questions` declined, and the same per language for questions whose ids
    end with theirs."""
    declined: list[bool] = []
    by_language: dict[str, list[bool]] = {}
    for q in questions:
        declined.append(not retriever.answer(q.question).found)
        lang = language_of(q.id)
        if lang:
            by_language.setdefault(lang, []).append(declined[-1])
    shares = {lang: round(sum(d) / len(d), 4) for lang, d in by_language.items()}
    return round(sum(declined) / max(len(declined), 1), 4), shares


def _pct(count: int, total: int) -> float:
    return round(100 * count / total, 1)


def evaluate(
    settings: Settings,
    folder: Path,
    retriever_kind: str,
    unanswerable: Path | Sequence[Path] | None,
    render: RenderFn | None,
    limit: int | None = None,
) -> dict[str, Any]:
    """The metrics of one evaluation set (its first `limit` questions, when given)."""
    corpus = folder / "corpus"
    if not corpus.is_dir():
        raise KhabarError(
            f"{corpus} is missing: an evaluation set is DIR/corpus and DIR/questions.jsonl"
        )
    retriever = prepare(settings.with_overrides(retriever=retriever_kind), corpus)
    retriever.answer("warm up")
    result: dict[str, Any] = {
        "set": folder.name,
        "model": settings.model,
        "retriever": retriever_kind,
        "reader": settings.reader,
    }
    questions = load_questions(folder / "questions.jsonl")[:limit]
    result.update(run_questions(retriever, questions, render))
    others = [unanswerable] if isinstance(unanswerable, Path) else list(unanswerable or [])
    for n, other in enumerate(others):
        asked = load_questions(other / "questions.jsonl")[:limit]
        share, per_language = declines(retriever, asked)
        if n == 0:  # the first set's share is the headline figure
            result["unanswerable_set"] = other.name
            result["declined_unanswerable"] = share
        else:
            result.setdefault("declined_also", {})[other.name] = share
        if per_language:
            result.setdefault("declined_by_language", {})[other.name] = per_language
    return result
