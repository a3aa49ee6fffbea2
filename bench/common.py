"""What the benchmark scripts share: the development sets, reading a question set, a p95,
writing and printing a result."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

# The development sets of ../shared/eval that the quality and cost benchmarks go through.
DEV_SETS = (
    "xquad-en",
    "xquad-ru",
    "xquad-ru2en",
    "realtimeqa-dev",
    "news-region",
    "news-region-x2en",
)


def present_sets(root: Path) -> Iterator[str]:
    """The names of `DEV_SETS` that `root` holds, in their order."""
    return (name for name in DEV_SETS if (root / name).is_dir())


def p95(values: list[float]) -> float:
    """The 95th percentile, the lower of the two values it falls between."""
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))]


def read_questions(path: Path | None, fallback: list[str]) -> list[str]:
    """The questions of a `questions.jsonl` (one object with "question" per line), or `fallback`."""
    if path is None:
        return fallback
    with path.open(encoding="utf-8") as f:
        return [json.loads(line)["question"] for line in f if line.strip()]


def save_and_print(result: dict[str, object], out: Path) -> None:
    """Write `result` as JSON to `out` and print it as an aligned two-column table."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print(f"(written to {out})")
