"""How much higher a model's cosines run for questions in each language, against English passages
they have nothing to do with: the numbers behind `decision.CROSS_LANGUAGE_SHIFT`.

    python bench/quality/language_shift.py ../shared [--limit 400] [--model NAME]

NTREX's news sentences (training data, `train/parallel/ntrex.jsonl`; none of it in the evaluation
sets) in en, ru, az, kk, tr and uz are encoded as questions (the query prompt), their English
originals as passages (the passage prompt). For each language: the median and 95th percentile
cosine of a sentence to the English sentences that are not its translation, and the median to
its translation. `CROSS_LANGUAGE_OFFSET` was measured with Russian questions; a language whose
unrelated cosines run higher than Russian's gets its threshold across languages lowered by
that much less (the "shift" column, the median's difference).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from index.model.embedder import Embedder  # noqa: E402
from index.settings import Settings  # noqa: E402

LANGS = ("en", "ru", "az", "kk", "tr", "uz")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("shared", type=Path, help="the shared folder (holding train/parallel)")
    parser.add_argument("--limit", type=int, default=400, help="sentences (a random sample)")
    parser.add_argument("--model", default=None, help="a sentence-transformers name or path")
    args = parser.parse_args()
    settings = Settings() if args.model is None else Settings(model=args.model)
    embedder = Embedder.from_settings(settings)
    with (args.shared / "train/parallel/ntrex.jsonl").open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    rows = [r for r in rows if all(r.get(lang) for lang in LANGS)]
    random.Random(0).shuffle(rows)
    rows = rows[: args.limit]
    passages = embedder.encode_with_prompt([r["en"] for r in rows], embedder.passage_prompt)
    unrelated = ~np.eye(len(rows), dtype=bool)
    print(f"model {settings.model}, {len(rows)} NTREX sentences a language, against English")
    print("| question language | unrelated median | unrelated p95 | translation median | shift |")
    print("|---|---|---|---|---|")
    medians: dict[str, float] = {}
    lines = []
    for lang in LANGS:
        questions = embedder.encode_with_prompt([r[lang] for r in rows], embedder.query_prompt)
        cosines = questions @ passages.T
        medians[lang] = float(np.median(cosines[unrelated]))
        lines.append(
            (
                lang,
                medians[lang],
                float(np.percentile(cosines[unrelated], 95)),
                float(np.median(np.diag(cosines))),
            )
        )
    for lang, median, p95, translation in lines:
        shift = median - medians["ru"]
        print(f"| {lang} | {median:.4f} | {p95:.4f} | {translation:.4f} | {shift:+.3f} |")
    shifts = {lang: round(medians[lang] - medians["ru"], 3) for lang in LANGS if lang != "en"}
    print("\nCROSS_LANGUAGE_SHIFT (positive ones):", {k: v for k, v in shifts.items() if v > 0})


if __name__ == "__main__":
    main()
