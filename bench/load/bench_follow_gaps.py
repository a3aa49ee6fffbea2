"""Measure the two decisions of issue 19 on the development sets' questions.

    python bench/load/bench_follow_gaps.py ../shared/eval [--limit 400]

1. /gaps grouping: which cosine between two questions' vectors makes them "the same topic"?
   Positive pairs: an xquad question and its professional Russian translation (same meaning,
   another language). Negative pairs: two different questions about the same article (same
   subject, different question: different gaps). Prints, per threshold, the share of
   translations grouped together and of different questions wrongly merged.
2. /follow alerts: the xquad-en articles split in two halves; the first half is indexed, the
   second half arrives "new". Each question follows as a topic; an alert is right when it
   names the question's own article. Prints how many questions about new articles alert
   (recall), how many alerts name the right article (precision), and how many questions whose
   article is old (no new article answers them) alert anyway (false alerts).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from index.answer.retriever import Retriever
from index.backends.choose import build_index
from index.model.embedder import Embedder
from index.settings import Settings


def load(root: Path, name: str) -> list[dict[str, str]]:
    path = root / name / "questions.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def grouping(root: Path, embedder: Embedder, prompt: str, limit: int) -> None:
    en = {q["id"]: q for q in load(root, "xquad-en")}
    ru = {q["id"]: q for q in load(root, "xquad-ru")}
    ids = sorted(set(en) & set(ru))
    random.Random(7).shuffle(ids)
    ids = ids[:limit]
    ven = embedder.encode_with_prompt([en[i]["question"] for i in ids], prompt)
    vru = embedder.encode_with_prompt([ru[i]["question"] for i in ids], prompt)
    same = np.sum(ven * vru, axis=1)
    by_article: dict[str, list[int]] = {}
    for n, i in enumerate(ids):
        by_article.setdefault(en[i]["article"], []).append(n)
    different = [
        float(ven[a] @ ven[b])
        for members in by_article.values()
        for x, a in enumerate(members)
        for b in members[x + 1 :]
    ]
    rng = np.random.default_rng(5)
    pairs = rng.integers(0, len(ids), size=(3000, 2))
    unrelated = np.array(
        [float(ven[a] @ ven[b]) for a, b in pairs if en[ids[a]]["article"] != en[ids[b]]["article"]]
    )
    print(
        f"grouping: {len(same)} translation pairs, {len(different)} pairs of different "
        f"questions on one article, {len(unrelated)} on different articles"
    )
    print("threshold  translations_grouped  same_article_merged  other_article_merged")
    for threshold in (0.80, 0.82, 0.84, 0.86, 0.88, 0.90):
        grouped = float(np.mean(same >= threshold))
        merged = float(np.mean(np.array(different) >= threshold))
        wrong = float(np.mean(unrelated >= threshold))
        print(f"{threshold:9.2f}  {grouped:20.3f}  {merged:19.3f}  {wrong:20.4f}")


def alerts(root: Path, embedder: Embedder, limit: int, reader: str, asked: str) -> None:
    corpus = root / "xquad-en" / "corpus"
    articles = sorted(p.stem for p in corpus.glob("*.md"))
    random.Random(11).shuffle(articles)
    old, new = set(articles[: len(articles) // 2]), set(articles[len(articles) // 2 :])
    work = Path(tempfile.mkdtemp(prefix="khabar-follow-"))
    try:
        (work / "corpus").mkdir()
        for name in old:
            shutil.copy(corpus / f"{name}.md", work / "corpus")
        settings = Settings(
            corpus_dir=work / "corpus", index_dir=work / "index", data_dir=work, reader=reader
        )
        build_index(settings, embedder=embedder)
        for name in new:
            shutil.copy(corpus / f"{name}.md", work / "corpus")
        build_index(settings, embedder=embedder)
        retriever = Retriever(settings, embedder)
        new_ids = {a.id for a in retriever.articles() if Path(a.id).stem in new}
        questions = load(root, asked)  # xquad-ru: Russian topics, English articles
        random.Random(3).shuffle(questions)
        questions = questions[:limit]
        about_new = [q for q in questions if q["article"] in new]
        about_old = [q for q in questions if q["article"] in old]
        alerted = right = 0
        for q in about_new:
            answer = retriever.answer_within(q["question"], new_ids)
            if answer.found:
                alerted += 1
                right += Path(answer.shown[0].article_id).stem == q["article"]
        false = sum(retriever.answer_within(q["question"], new_ids).found for q in about_old)
        print(
            f"alerts ({asked} topics, reader {reader}): {len(about_new)} topics answered by "
            f"a new article, "
            f"{len(about_old)} by an old one only"
        )
        print(
            f"  recall {alerted / len(about_new):.3f}, precision {right / max(alerted, 1):.3f}, "
            f"false alerts {false / len(about_old):.3f}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path)
    parser.add_argument("--limit", type=int, default=400)
    args = parser.parse_args()
    settings = Settings()
    embedder = Embedder.from_settings(settings)
    prompt = settings.query_prompt if settings.query_prompt is not None else "query: "
    grouping(args.root, embedder, prompt, args.limit)
    for asked in ("xquad-en", "xquad-ru"):
        for reader in ("on", "off"):
            alerts(args.root, embedder, args.limit, reader, asked)


if __name__ == "__main__":
    main()
