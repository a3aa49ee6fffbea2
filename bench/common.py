"""What the benchmark scripts share: reading a question set, writing and printing a result."""

from __future__ import annotations

import json
from pathlib import Path


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
