"""Text for people: build summaries, index status and answers as the terminal shows them."""

from __future__ import annotations

import datetime as dt
import sys
import textwrap
from collections.abc import Callable
from typing import Any

from index.answer import Answer, Hit
from index.backends import backend_for
from index.build import BuildReport
from index.errors import IndexCorrupt, IndexMismatch
from index.settings import Settings


def progress_bar(total: int) -> Callable[[int], None]:
    from tqdm import tqdm

    bar = tqdm(total=total, unit="passage", desc="embedding", file=sys.stderr, dynamic_ncols=True)

    def update(done: int) -> None:
        bar.update(done)
        if bar.n >= total:
            bar.close()

    return update


def format_build(report: BuildReport, settings: Settings) -> str:
    lines = []
    if report.note:
        lines.append(f"note: {report.note}")
    if not report.published and not (report.added or report.changed or report.removed):
        lines.append("The corpus has not changed since the last build: nothing to do.")
    lines.append(
        f"articles: {report.added} added, {report.changed} changed, {report.removed} removed, "
        f"{report.unchanged} unchanged, {len(report.skipped)} skipped"
    )
    lines.append(
        f"index: {report.articles} articles, {report.passages} passages "
        f"({report.embedded} embedded) in {where_index(settings)} — {report.seconds:.1f} s"
    )
    for path, reason in report.skipped:
        lines.append(f"skipped {path}: {reason}")
    lines.extend(report.problems)
    return "\n".join(lines)


def where_index(settings: Settings) -> str:
    return backend_for(settings).where()


def index_status(settings: Settings) -> dict[str, Any]:
    """What the published index holds; a damaged one raises (`IndexCorrupt`), as answering
    would."""
    backend = backend_for(settings)
    try:
        opened = backend.open(search=False)
    except (IndexCorrupt, IndexMismatch) as exc:  # said as a state: status is where one looks
        state = "damaged" if isinstance(exc, IndexCorrupt) else "outdated"
        return {"index_dir": backend.where(), "state": state, "problem": str(exc)}
    try:
        articles, passages = opened.text.counts()
        m = opened.manifest
        return {
            "index_dir": opened.where,
            "state": "ok",
            "articles": articles,
            "passages": passages,
            "model": m.model,
            "dimension": m.dimension,
            "store": m.store,
            "chunk_tokens": m.chunk_tokens,
            "built_at": m.built_at,
            "size_bytes": opened.size_bytes(),
        }
    finally:
        opened.close()


def format_status(status: dict[str, Any]) -> str:
    if status["state"] != "ok":
        return f"index:    {status['index_dir']}\nstate:    {status['state']}: {status['problem']}"
    size = status["size_bytes"] / 1_000_000
    return "\n".join(
        [
            f"index:    {status['index_dir']}",
            f"state:    {status['state']}",
            f"articles: {status['articles']}",
            f"passages: {status['passages']}",
            f"model:    {status['model']} ({status['dimension']}-d, {status['store']})",
            f"built at: {status['built_at']}",
            f"size:     {size:.1f} MB",
        ]
    )


def citation(hit: Hit) -> str:
    parts = [hit.title]
    parts += [p for p in (hit.source, _date(hit.date), hit.url) if p]
    return " · ".join(parts)


def format_answer(answer: Answer) -> str:
    """An answer as the terminal shows it: the hits a reader pages through, or "found nothing"
    with the closest articles (the same decision as the bot's: `decision.decide`)."""
    if not answer.found:
        closest = "; ".join(dict.fromkeys(h.title for h in answer.hits[:3]))
        text = "I found nothing on that in the articles."
        return text + (f"\nClosest articles: {closest}" if closest else "")
    blocks = []
    for rank, hit in enumerate(answer.shown, start=1):
        # A bar, not quotation marks: the excerpt may itself open with a quote (an interview),
        # and paragraphs it spans are joined by one space.
        excerpt = " ".join(hit.excerpt.split())
        quote = textwrap.fill(
            excerpt, width=88, initial_indent=f"{rank}. │ ", subsequent_indent="   │ "
        )
        sure = "" if hit.reader_score is None else f", reader {hit.reader_score:.1f}"
        where = f"(score {hit.score:.2f}{sure}, {hit.article_id})"
        blocks.append(f"{quote}\n   — {citation(hit)}\n   {where}")
    return "\n".join(blocks)


def _date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value).strftime("%-d %B %Y")
    except ValueError:
        return value
