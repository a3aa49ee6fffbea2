"""What the second reader (across languages, `index/reader/routing.py`) costs in memory and time.

    python bench/reader/readers_memory.py ../shared/eval on
    python bench/reader/readers_memory.py ../shared/eval off

(Before EXPORT_VERSION 4 the graphs held e5's embedding table, and commit 7ad51e8's `--copies`
gave each session its own copy of it, for docs/benchmarks.md's section 8.)

In a fresh process: news-region-x2en's index with the reader on, `KHABAR_READER_ACROSS` as
given, warmed up (both sessions opened), then the Geiger question asked twice in each of the six
languages (five across languages, one within). Prints the resident memory after them, the
process's peak, and the median seconds a question. Run each setting in its own process.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from index.evaluate import prepare  # noqa: E402
from index.settings import Settings  # noqa: E402

QUESTIONS = [
    "В каком году родился Ганс Гейгер?",
    "Hans Geiger hangi yıl doğdu?",
    "Ханс Гейгер қай жылы туған?",
    "Hans Geyger hansı ildə anadan olub?",
    "Hans Geyger qaysi yili tug'ilgan?",
    "In what year was Hans Geiger born?",
]


def resident_mib() -> int:
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    return int(status.split("VmRSS:")[1].split()[0]) // 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path, help="the folder holding the evaluation sets")
    parser.add_argument("across", choices=["on", "off"])
    args = parser.parse_args()
    settings = Settings(reader="on", reader_across=args.across)
    retriever = prepare(settings, args.root / "news-region-x2en" / "corpus")
    assert retriever.reader is not None
    retriever.reader.warm_up()
    seconds = []
    for question in QUESTIONS * 2:
        start = time.perf_counter()
        retriever.answer(question)
        seconds.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(
        f"KHABAR_READER_ACROSS={args.across}: resident {resident_mib()} MiB, peak {peak} MiB, "
        f"median {1000 * statistics.median(seconds):.0f} ms a question"
    )


if __name__ == "__main__":
    main()
