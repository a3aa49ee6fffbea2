"""The reader as a torch module, and its shipped weights.

multilingual-e5-small's encoder, cut to its first `layers` layers, with one linear head that
gives each token a start and an end logit. Only the top layers and the head are trained, so
only they ship (`weights/reader.safetensors`, float16), checked by the SHA-256 in
`weights/reader.json`; the rest comes from the e5 weights Khabar rebuilds offline.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import KhabarError

WEIGHTS_DIR = Path(__file__).parent / "weights"
# The second reader's: trained on from the first's with more pairs across languages, it reads
# a question with a passage in another language (`routing.ByLanguage`, docs/reader.md).
ACROSS_WEIGHTS_DIR = Path(__file__).parent / "weights-across"
WEIGHTS_FILE = "reader.safetensors"
CARD_FILE = "reader.json"


class ReaderUnavailable(KhabarError):
    """The shipped reader cannot be used (missing or damaged weights)."""


@dataclass(frozen=True)
class Recipe:
    """How the reader is shaped; written beside its weights."""

    base: str = "multilingual-e5-small"
    layers: int = 8  # e5-small has 12; the top 4 are left out (faster, measured in docs/reader.md)
    trained_from: int = 4  # layers below this one keep e5's weights
    max_length: int = 256  # training windows; answering reads whole passages (up to 512)
    threshold: float = 0.0  # span score minus no-answer score above which a passage answers
    # In one language, under which the reader's score plus the cosine's weighted margin says
    # "found nothing" (index/answer/decision.py; None: the cosine rule decides).
    floor: float | None = None
    # The same line across languages (a Kazakh question, an English passage), where the
    # reader's scores run lower; None: the cosine rule decides there.
    cross_floor: float | None = None


def build(folder: Path, recipe: Recipe) -> Any:
    """The untrained reader on e5's weights in `folder` (a sentence-transformers folder)."""
    import torch
    from transformers import AutoModel

    class Reader(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            encoder = AutoModel.from_pretrained(str(folder), add_pooling_layer=False)
            encoder.encoder.layer = encoder.encoder.layer[: recipe.layers]
            encoder.config.num_hidden_layers = recipe.layers
            self.encoder = encoder
            self.qa = torch.nn.Linear(encoder.config.hidden_size, 2)
            self.pad_id = int(encoder.config.pad_token_id)

        def forward(self, input_ids: Any, attention_mask: Any) -> tuple[Any, Any]:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0]
            logits = self.qa(hidden)
            return logits[..., 0], logits[..., 1]

    model = Reader()
    for name, param in model.named_parameters():
        param.requires_grad = is_trained(name, recipe)
    return model


def is_trained(name: str, recipe: Recipe) -> bool:
    """Whether a parameter is trained (and shipped): the head and the top layers."""
    if name.startswith("qa."):
        return True
    parts = name.split(".")
    if parts[:3] == ["encoder", "encoder", "layer"]:
        return int(parts[3]) >= recipe.trained_from
    return False


def trained_state(model: Any, recipe: Recipe) -> dict[str, Any]:
    return {n: p.detach() for n, p in model.named_parameters() if is_trained(n, recipe)}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save(model: Any, recipe: Recipe, out: Path, extra: dict[str, Any] | None = None) -> Path:
    """Write the trained part as float16 and its card (recipe, checksum), each file whole."""
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    tensors = {n: t.half().cpu().contiguous() for n, t in trained_state(model, recipe).items()}
    with tempfile.NamedTemporaryFile(dir=out, suffix=".tmp", delete=False) as tmp:
        pass
    save_file(tensors, tmp.name)
    card = {"recipe": asdict(recipe), "sha256": sha256(Path(tmp.name)), **(extra or {})}
    os.chmod(tmp.name, 0o644)  # shipped in git: readable like any other file
    os.replace(tmp.name, out / WEIGHTS_FILE)
    with tempfile.NamedTemporaryFile("w", dir=out, suffix=".tmp", delete=False) as f:
        json.dump(card, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.chmod(f.name, 0o644)
    os.replace(f.name, out / CARD_FILE)
    return out / WEIGHTS_FILE


def read_card(weights_dir: Path = WEIGHTS_DIR) -> dict[str, Any]:
    path = weights_dir / CARD_FILE
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
        Recipe(**card["recipe"])
        str(card["sha256"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReaderUnavailable(
            f"the reader's card {path} is missing or damaged ({exc}) — restore it from git, "
            'retrain it with "khabar reader train", or set KHABAR_READER=off'
        ) from None
    return dict(card)


def verified_weights(weights_dir: Path = WEIGHTS_DIR) -> tuple[Recipe, Path, str]:
    """The shipped recipe and weights, after checking the weights against their checksum."""
    card = read_card(weights_dir)
    path = weights_dir / WEIGHTS_FILE
    if not path.is_file() or sha256(path) != card["sha256"]:
        raise ReaderUnavailable(
            f"the reader's weights {path} are missing or do not match their checksum — "
            'restore them from git, retrain with "khabar reader train", or set KHABAR_READER=off'
        )
    return Recipe(**card["recipe"]), path, str(card["sha256"])


def load(folder: Path, weights_dir: Path = WEIGHTS_DIR) -> tuple[Any, Recipe]:
    """The trained reader: e5's weights from `folder`, the shipped part on top (checked)."""
    recipe, _, _ = verified_weights(weights_dir)
    model = build(folder, recipe)
    load_trained(model, recipe, weights_dir)
    return model.eval(), recipe


def load_trained(model: Any, recipe: Recipe, weights_dir: Path) -> None:
    """Put the trained part in `weights_dir` (checked) on `model`, built with `recipe`: to
    answer with it, or to train on from it (`khabar reader train --init`). `recipe` may train
    from a lower layer than the weights did: the layers between were e5's, frozen, when they
    were trained, and stay e5's here, so the model starts as the weights' reader, and training
    then moves those layers too."""
    from safetensors.torch import load_file

    theirs, path, _ = verified_weights(weights_dir)
    if theirs.layers != recipe.layers or theirs.trained_from < recipe.trained_from:
        raise ReaderUnavailable(
            f"{path} holds layers {theirs.trained_from}-{theirs.layers - 1}; train on from it "
            f"with --layers {theirs.layers} --trained-from {theirs.trained_from} (or lower)"
        )
    state = {n: t.float() for n, t in load_file(str(path)).items()}
    if set(state) != set(trained_state(model, theirs)):
        raise ReaderUnavailable(f"{path} does not hold the weights its recipe names")
    model.load_state_dict(state, strict=False)
