"""Weights folders averaged, parameter by parameter (a "model soup", Wortsman et al. 2022):

    python bench/reader/average_weights.py OUT DIR[:WEIGHT] DIR[:WEIGHT] ...

Each DIR is a folder `khabar reader train --out` (or `--snapshots`) wrote, of the same model
(base, layers, the layers trained). OUT gets their weighted mean as float16, and the first
folder's card (its thresholds among it) with the new checksum and the folders averaged, so
that KHABAR_READER_WEIGHTS or KHABAR_READER_ACROSS_WEIGHTS can name it (`weights_replay.py
collect`). Measured, not shipped (docs/reader.md, "Averaged weights").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from index.reader.model import CARD_FILE, WEIGHTS_FILE, read_card, sha256  # noqa: E402


def average(out: Path, parts: list[tuple[Path, float]]) -> None:
    from safetensors.numpy import load_file, save_file

    if not parts:
        raise SystemExit("name at least one weights folder")
    cards = [read_card(folder) for folder, _ in parts]
    shape = ("base", "layers", "trained_from", "max_length")
    if any(
        [c["recipe"][k] for k in shape] != [cards[0]["recipe"][k] for k in shape] for c in cards
    ):
        raise SystemExit("the folders' models differ: their parameters cannot be averaged")
    total = sum(weight for _, weight in parts)
    mean: dict[str, np.ndarray] = {}
    for folder, weight in parts:
        tensors = load_file(str(folder / WEIGHTS_FILE))
        if mean and tensors.keys() != mean.keys():
            raise SystemExit(f"{folder} holds other parameters than {parts[0][0]}")
        for name, value in tensors.items():
            mean[name] = mean.get(name, 0.0) + value.astype(np.float32) * (weight / total)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.astype(np.float16) for k, v in mean.items()}, str(out / WEIGHTS_FILE))
    card = {
        **cards[0],
        "sha256": sha256(out / WEIGHTS_FILE),
        "averaged": [[str(folder), weight] for folder, weight in parts],
    }
    (out / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    print(f"{out}: the mean of {len(parts)} folders")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("folders", nargs="+", help="DIR or DIR:WEIGHT (1 when left out)")
    args = parser.parse_args()
    parts = []
    for given in args.folders:
        folder, _, weight = given.rpartition(":") if ":" in given else (given, "", "1")
        parts.append((Path(folder), float(weight)))
    average(args.out, parts)


if __name__ == "__main__":
    main()
