"""Ways to quantise the reader to int8: how much faster each reads, and how far its scores move.

    python bench/reader/int8_variants.py ../shared [--reader within|across] [--pairs 240]

Exports the reader (the shipped weights, or the second reader's) twice into a scratch folder:
the plain graph (torch's attention, a dozen operators a layer) and the fused one (ONNX Runtime's
`Attention`, as `runtime._export` writes it). Then it quantises them in several ways with ONNX
Runtime's dynamic quantisation (weights int8 per output channel, activations per tensor as each
run goes; one of them `runtime._quantize`, the export's own), and, where the `onnx-ir` package
is installed, with its block-wise 8-bit weights (`MatMulNBits`, activations quantised per block
of a row: finer, and slower).

Each variant reads the same (question, passage) pairs as float32 does, from `../shared/train`
(never the evaluation sets): TyDi / TQuAD questions with their contexts, and NTREX sentences
against a three-sentence paragraph in another language, as `khabar reader train` builds them.
It prints, against float32 in the same run: seconds for all pairs read in batches of 8 and the
median of one pair at a time, and how far the reader's score (best span minus no answer) moves,
how often the span moves, and how many scores cross 0, 2 and 4 logits (the thresholds).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from index.model.onnx_fuse import export_fused  # noqa: E402
from index.reader import model as reader_model  # noqa: E402
from index.reader import runtime  # noqa: E402

LANGS = ["en", "ru", "az", "kk", "tr", "uz"]
MODELS = ROOT / "data/models"


def training_pairs(shared: Path, n: int) -> list[tuple[str, str]]:
    """Half TyDi / TQuAD questions with their contexts, half NTREX sentences as the query
    against a paragraph of three sentences in another language (seeded)."""
    spans = [json.loads(line) for line in (shared / "train/spans.jsonl").open(encoding="utf-8")]
    random.Random(3).shuffle(spans)
    pairs = [(r["question"], r["context"][:1500]) for r in spans[: n // 2]]
    lines = [
        json.loads(line) for line in (shared / "train/parallel/ntrex.jsonl").open(encoding="utf-8")
    ]
    pick = random.Random(4)
    while len(pairs) < n:
        i = pick.randrange(len(lines) - 3)
        a, b = pick.sample(LANGS, 2)
        pairs.append((lines[i + 1][a], " ".join(x[b] for x in lines[i : i + 3])))
    return pairs


def quantise_blockwise(graph: Path, out: Path, block: int) -> bool:
    """8-bit block-wise weights (`MatMulNBits`, int8 arithmetic); False without onnx-ir."""
    try:
        from onnxruntime.quantization import matmul_nbits_quantizer as nbits
    except ImportError:
        return False
    import onnx

    model = onnx.load(str(graph))
    config = nbits.DefaultWeightOnlyQuantConfig(
        block_size=block, is_symmetric=True, accuracy_level=4, bits=8
    )
    quantiser = nbits.MatMulNBitsQuantizer(
        model,
        block_size=block,
        is_symmetric=True,
        accuracy_level=4,
        algo_config=config,
        nodes_to_exclude=[runtime.HEAD_PRODUCT],
    )
    quantiser.process()
    quantiser.model.save_model_to_file(str(out), use_external_data_format=False)
    return True


def dynamic(graph: Path, out: Path, ops: Sequence[str], keep: Sequence[str]) -> bool:
    runtime.quantize_int8(graph, out, ops, keep)
    return True


def as_exported(graph: Path, out: Path, layers: int) -> bool:
    """`runtime._quantize`, as the export does it."""
    runtime._quantize(graph, out, layers)
    return True


def timed(
    reader: runtime.OnnxReader, pairs: Sequence[tuple[str, str]]
) -> tuple[list[runtime.Reading | None], float, float]:
    """Every pair's reading, the seconds to read them in batches, the median of one alone."""
    reader.read_pairs(pairs[:4])
    start = time.perf_counter()
    readings = reader.read_pairs(pairs)
    batched = time.perf_counter() - start
    one = []
    for pair in pairs[:80]:
        start = time.perf_counter()
        reader.read_pairs([pair])
        one.append(time.perf_counter() - start)
    return readings, batched, float(np.median(one))


def make_variants(work: Path, weights: Path, e5: Path, shipped: Path) -> dict[str, Path]:
    """Each variant's export folder (the shipped one's, its int8 graph replaced), by name."""
    model, recipe = reader_model.load(e5, weights)
    with runtime._few_rows(model):
        runtime._export_graph(model, work / "plain.onnx")
        shutil.copy(work / "plain.onnx", work / "fused.onnx")
        export_fused(
            lambda path: runtime._export_graph(model, path), model.encoder, work / "fused.onnx"
        )
        plain, fused = work / "plain.onnx", work / "fused.onnx"
        every = ["MatMul", "Attention"]
        head = [runtime.HEAD_PRODUCT]
        second = [runtime.second_feed_forward(k) for k in range(recipe.layers)]
        variants: dict[str, Callable[[Path], bool]] = {
            "plain graph, matrix products (export version 4)": lambda out: dynamic(
                plain, out, ["MatMul"], []
            ),
            "fused graph, matrix products and attention (commit 7083710)": lambda out: dynamic(
                fused, out, every, head
            ),
            "fused, the upper half's second feed-forward products float32 (version 6)": (
                lambda out: as_exported(fused, out, recipe.layers)
            ),
            "fused, every second feed-forward product float32": lambda out: dynamic(
                fused, out, every, [*second, *head]
            ),
            "fused, attention alone": lambda out: dynamic(fused, out, ["Attention"], head),
            "fused, block-wise 8-bit weights (128)": lambda out: quantise_blockwise(
                fused, out, 128
            ),
        }
        folders = {}
        for number, (name, make) in enumerate(variants.items()):
            folder = work / f"v{number}"
            shutil.copytree(shipped, folder)
            if make(folder / runtime.INT8_GRAPH):
                runtime._without_embeddings(folder / runtime.INT8_GRAPH)
                folders[name] = folder
            else:
                print(f"{name}: skipped (pip install onnx-ir)")
    return folders


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("shared", type=Path, help="the shared folder (its train/)")
    parser.add_argument("--reader", choices=["within", "across"], default="within")
    parser.add_argument("--pairs", type=int, default=240)
    args = parser.parse_args()
    weights = (
        reader_model.WEIGHTS_DIR if args.reader == "within" else reader_model.ACROSS_WEIGHTS_DIR
    )
    shipped = runtime.ensure_onnx(MODELS, weights)
    e5 = (MODELS / "multilingual-e5-small").resolve()
    pairs = training_pairs(args.shared, args.pairs)
    with tempfile.TemporaryDirectory(dir=MODELS.parent) as scratch:
        work = Path(scratch)
        folders = make_variants(work, weights, e5, shipped)
        reference = runtime.OnnxReader(shipped, e5, "float32", weights)
        base, base_batched, base_one = timed(reference, pairs)
        print(f"float32: {base_batched:.1f} s for {len(pairs)} pairs, {base_one * 1000:.1f} ms one")
        for name, folder in folders.items():
            quantised = runtime.OnnxReader(folder, e5, "int8", weights)
            got, batched, one = timed(quantised, pairs)
            both = [(a, b) for a, b in zip(base, got, strict=True) if a and b]
            moved = np.array([abs(a.score - b.score) for a, b in both])
            same = np.mean([(a.start, a.end) == (b.start, b.end) for a, b in both])
            crossed = [sum((a.score > t) != (b.score > t) for a, b in both) for t in (0, 2, 4)]
            print(
                f"{name}: {base_batched / batched:.2f}x batched, {base_one / one:.2f}x one "
                f"({one * 1000:.1f} ms) | score moved mean {moved.mean():.2f}, p95 "
                f"{np.percentile(moved, 95):.2f}, max {moved.max():.2f} | span kept "
                f"{same:.3f} | crossing 0 / 2 / 4: {crossed[0]} / {crossed[1]} / {crossed[2]}"
            )


if __name__ == "__main__":
    main()
