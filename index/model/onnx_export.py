"""A sentence-transformers model exported once to ONNX (float32 and int8) in the models folder.

The exported folder holds everything the ONNX runtime needs — `model.onnx`, `model-int8.onnx`
(each graph with its weights in a `.data` file beside it), `tokenizer.json` and
`khabar-onnx.json` (pooling, maximum length, prompts, input names, and the cosines measured
against the torch model) — so answering never imports torch or sentence-transformers.
Exporting does, once; it runs on first use and is checked before use.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelUnavailable
from . import tokens
from .encoders import CONFIG_FILE, FLOAT_FILE, INT8_FILE
from .onnx_fuse import export_fused
from .quiet import third_party_quiet

log = logging.getLogger(__name__)

EXPORT_VERSION = 2  # 2: the float32 graph with fused attention (onnx_fuse)
INLINE_WEIGHTS = 16 << 20  # a graph file this large still holds its weights
MIN_FLOAT_COSINE = 0.9999
MIN_INT8_COSINE = 0.97
CHECK_TEXTS = (
    "When was the Organization of Turkic States founded?",
    "Founded in 2009 on the ancient Azerbaijani land of Nakhchivan, the Organization has "
    "become an important platform for cooperation among Turkic states.",
    "Организация тюркских государств была основана в 2009 году в Нахчыване.",
    "Türk Devletleri Teşkilatı 2009 yılında Nahçıvan'da kuruldu.",
    "Түркі мемлекеттері ұйымы қашан құрылды?",
    "Türk Dövlətləri Təşkilatı 2009-cu ildə Naxçıvanda yaradılıb.",
    "short",
)


class NotExportable(ModelUnavailable):
    """The model's pipeline is not a plain transformer + pooling: keep it on torch."""


def onnx_folder(models_dir: Path, name: str, resolved: str) -> Path:
    """Where the export of this model lives; a local model folder that changes gets a new one."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip("/")).strip("-")[:60] or "model"
    return models_dir / "onnx" / f"{slug}-{_fingerprint(resolved)}"


def _fingerprint(resolved: str) -> str:
    path = Path(resolved)
    if path.is_dir():
        resolved = str(path.resolve())  # the same folder by any path is the same model
    digest = hashlib.sha256(f"{EXPORT_VERSION}\0{resolved}".encode())
    if path.is_dir():
        for item in sorted(path.rglob("*")):
            if item.name.startswith(tokens.MODEL_FILE):
                continue  # Khabar's own tokenizer copy, made later: not part of the model
            if item.is_file() and item.suffix in {".json", ".safetensors", ".bin", ".txt"}:
                stat = item.stat()
                digest.update(f"\0{item.relative_to(path)}\0{stat.st_size}".encode())
    return digest.hexdigest()[:12]


def read_config(folder: Path) -> dict[str, Any] | None:
    path = folder / CONFIG_FILE
    if not (path.is_file() and (folder / FLOAT_FILE).is_file() and (folder / INT8_FILE).is_file()):
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if data.get("version") == EXPORT_VERSION else None


def ensure_onnx(name: str, resolved: str, models_dir: Path) -> Path:
    """The exported folder of the model, exporting and checking it first if needed."""
    folder = onnx_folder(models_dir, name, resolved)
    if read_config(folder) is not None:
        externalise(folder)  # exports made before the weights moved out of the graph
        return folder
    return publish_folder(
        folder, lambda staging: export(resolved, staging), lambda f: read_config(f) is not None
    )


def publish_folder(
    folder: Path, make: Callable[[Path], object], ready: Callable[[Path], bool]
) -> Path:
    """Make `folder` in a staging folder beside it and swap it in whole, so a reader sees no
    half-written export; if another process finished first (`ready`), its folder is kept."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        make(staging)
        if ready(folder):
            shutil.rmtree(staging, ignore_errors=True)
        else:
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def export(resolved: str, out: Path) -> dict[str, Any]:
    """Export `resolved` (a sentence-transformers name or folder) into `out`, and check it."""
    log.warning("exporting %s to ONNX, once (about a minute)", resolved)
    with third_party_quiet(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's warnings are about code paths unused
        return _export(resolved, out)


def _export(resolved: str, out: Path) -> dict[str, Any]:
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model = SentenceTransformer(resolved, device="cpu")
    pooling = _pooling_mode(model)
    transformer = model[0]
    tokenizer: Any = model.tokenizer
    if not getattr(tokenizer, "is_fast", False):
        raise NotExportable("the model's tokenizer has no fast (tokenizer.json) version")
    tokenizer.save_pretrained(str(out))
    if not (out / "tokenizer.json").is_file():
        raise NotExportable("the model's tokenizer could not be saved as tokenizer.json")
    inputs = [
        n
        for n in ("input_ids", "attention_mask", "token_type_ids")
        if n in tokenizer.model_input_names
    ]
    auto_model: Any = transformer.auto_model
    auto_model.eval()

    class LastHidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = auto_model

        def forward(self, *tensors: Any) -> Any:
            return self.inner(**dict(zip(inputs, tensors, strict=True))).last_hidden_state

    sample = tokenizer(
        ["a short text", "a longer text to export with"], padding=True, return_tensors="pt"
    )
    axes = {n: {0: "batch", 1: "tokens"} for n in [*inputs, "last_hidden_state"]}

    def export_graph(path: Path) -> None:
        with torch.no_grad():
            torch.onnx.export(
                LastHidden(),
                tuple(sample[n] for n in inputs),
                str(path),
                input_names=inputs,
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )

    export_graph(out / FLOAT_FILE)
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(out / FLOAT_FILE), str(out / INT8_FILE), weight_type=QuantType.QInt8, per_channel=True
    )
    # The float32 graph again with eager attention, fused into one operator per layer
    # (`onnx_fuse`): the same vectors, faster; the int8 graph stays quantised from the first.
    fused = export_fused(export_graph, auto_model, out / FLOAT_FILE)
    externalise(out)
    config: dict[str, Any] = {
        "version": EXPORT_VERSION,
        "fused_attention": fused,
        "source": resolved,
        "inputs": inputs,
        "pooling": pooling,
        "max_seq_length": int(model.max_seq_length or 512),
        "dimension": int(auto_model.config.hidden_size),
        "pad_id": int(tokenizer.pad_token_id or 0),
        "prompts": dict(getattr(model, "prompts", None) or {}),
    }
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")
    reference = model.encode(list(CHECK_TEXTS), normalize_embeddings=True, convert_to_numpy=True)
    from .encoders import OnnxEncoder

    for precision, minimum in (("float32", MIN_FLOAT_COSINE), ("int8", MIN_INT8_COSINE)):
        ours = OnnxEncoder(out, precision).encode(list(CHECK_TEXTS), batch_size=4)
        cosine = float(np.min(np.sum(ours * reference, axis=1)))
        config[f"cosine_{precision}"] = round(cosine, 5)
        if cosine < minimum:
            raise ModelUnavailable(
                f"the ONNX export ({precision}) differs from the model (cosine {cosine:.4f} < "
                f"{minimum}); set KHABAR_RUNTIME=torch"
            )
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")
    log.info(
        "exported %s to ONNX: cosine float32 %.5f, int8 %.5f",
        resolved,
        config["cosine_float32"],
        config["cosine_int8"],
    )
    return config


def externalise(folder: Path) -> None:
    """Move each graph's weights into a file beside it (`model.onnx.data`), once. ONNX Runtime
    then maps them from disk instead of parsing them out of the graph's protobuf: a session
    of e5 loads in 0.26 s instead of 1.3 (adding one article and the bot's first answer wait
    for it). The graph and its weights are swapped in whole, so a reader sees old or new."""
    for name in (FLOAT_FILE, INT8_FILE):
        path = folder / name
        if not path.is_file() or path.stat().st_size < INLINE_WEIGHTS:
            continue
        import onnx

        model = onnx.load(str(path))
        staging = Path(tempfile.mkdtemp(prefix=".externalise-", dir=folder))
        try:
            onnx.save_model(
                model,
                str(staging / name),
                save_as_external_data=True,
                all_tensors_to_one_file=True,
                location=name + ".data",
                size_threshold=1024,
            )
            os.replace(staging / (name + ".data"), folder / (name + ".data"))
            os.replace(staging / name, path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        log.info("moved the weights of %s into %s.data", path, name)


def _pooling_mode(model: Any) -> str:
    modules = list(model)
    kinds = [type(m).__name__ for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        raise NotExportable(f"the model's modules are {kinds}, not Transformer + Pooling")
    pooling = modules[1]
    mode = getattr(pooling, "pooling_mode", None)
    if mode is None and hasattr(pooling, "get_pooling_mode_str"):
        mode = pooling.get_pooling_mode_str()
    if isinstance(mode, list | tuple):
        mode = "+".join(str(m) for m in mode)
    if getattr(pooling, "include_prompt", True) is False:
        raise NotExportable("the model leaves the prompt out of its pooling")
    if mode not in {"mean", "cls"}:
        raise NotExportable(f"the model pools by {mode!r}; only mean and cls are exported")
    return str(mode)
