"""Run `khabar eval` on every development set and print a table (and JSON lines).

    python bench/quality/eval_sets.py ../shared/eval [--model M] [--retriever R] [--reader on|off]
        [--limit N] [--env KEY=VALUE ...] [--out bench/results/eval.jsonl]

For `declined_unanswerable`, xquad-en is also asked realtimeqa-dev's questions and
realtimeqa-dev xquad-ru's (Russian questions about Wikipedia, against English news): neither
corpus can answer them; realtimeqa-dev is also asked news-region's questions (six languages),
declined per language. The region sets (news-region, news-region-x2en) are reported per
language as well: counts of 19 questions a language. Extra settings go through the environment
(e.g. KHABAR_CHUNK_TOKENS).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import present_sets  # noqa: E402

LANGS = ["en", "ru", "az", "kk", "tr", "uz"]
COLUMNS = [
    "passage_answer@1",
    "answer@1",
    "answer@3",
    "span_f1",
    "article@1",
    "mrr@10",
    "not_found",
    "excerpt_words",
    "p50_ms",
    "p95_ms",
    "declined_unanswerable",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path, help="the folder holding the evaluation sets")
    parser.add_argument("--model")
    parser.add_argument("--retriever")
    parser.add_argument("--reader", choices=["on", "off"])
    parser.add_argument("--limit", type=int, help="only the first N questions of each set")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE settings")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/eval.jsonl")
    args = parser.parse_args()
    env = dict(os.environ)
    env.update(dict(item.split("=", 1) for item in args.env))
    rows = []
    for name in present_sets(args.root):
        command = [sys.executable, "-m", "khabar", "eval", str(args.root / name), "--json"]
        if args.model:
            command += ["--model", args.model]
        if args.retriever:
            command += ["--retriever", args.retriever]
        if args.reader:
            command += ["--reader", args.reader]
        if args.limit:
            command += ["--limit", str(args.limit)]
        if name == "xquad-en":
            command += ["--unanswerable", str(args.root / "realtimeqa-dev")]
        if name == "realtimeqa-dev":
            command += ["--unanswerable", str(args.root / "xquad-ru")]
            if (args.root / "news-region").is_dir():  # declines per language
                command += ["--unanswerable", str(args.root / "news-region")]
        done = subprocess.run(
            command, env=env, cwd=ROOT, capture_output=True, text=True, check=True
        )
        row = json.loads(done.stdout)
        rows.append(row)
        print(json.dumps(row), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps({**row, "env": args.env, "limit": args.limit}) + "\n")
    print("\n| set | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for row in rows:
        print(f"| {row['set']} | " + " | ".join(str(row.get(c, "")) for c in COLUMNS) + " |")
    region = [r for r in rows if "by_language" in r]
    if region:
        print("\nper language: the excerpt shown first holds the answer (the first three passages)")
        print("| set | " + " | ".join(LANGS) + " |")
        print("|---" * (len(LANGS) + 1) + "|")
        for row in region:
            cells = []
            for lang in LANGS:
                t = row["by_language"].get(lang)
                cells.append(f"{t['answer@1']} ({t['passages@3']})" if t else "")
            print(f"| {row['set']} | " + " | ".join(cells) + " |")
    for row in rows:
        for other, shares in row.get("declined_by_language", {}).items():
            print(
                f"\n{other}'s questions declined against {row['set']}, per language: "
                + ", ".join(f"{lang} {share:.2f}" for lang, share in shares.items())
            )


if __name__ == "__main__":
    main()
