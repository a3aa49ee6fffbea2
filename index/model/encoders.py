"""The two ways Khabar runs a model: ONNX Runtime (fast, no torch at run time) and
sentence-transformers on torch (any model). Both turn texts into L2-normalised vectors and
can hand back each token's embedding with its character offsets (for sentence vectors).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..errors import ModelUnavailable

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# An exported folder (`onnx_export` writes it): its configuration and its two graphs.
CONFIG_FILE = "khabar-onnx.json"
FLOAT_FILE = "model.onnx"
INT8_FILE = "model-int8.onnx"
Spans = list[tuple[int, int]]
# ONNX Runtime slows down with larger batches here (memory traffic): per text, 8 at a time is
# fastest, for questions and for 320-token passages alike.
MAX_BATCH = 8
TokenOutput = tuple[np.ndarray, np.ndarray, Spans]  # vector, token embeddings, token offsets


class Encoder(Protocol):
    dimension: int
    max_seq_length: int
    prompts: dict[str, str]
    precision: str

    def token_spans(self, texts: Sequence[str]) -> list[Spans]:
        """Character spans of each text's tokens (no special tokens, no truncation)."""

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """Normalised float32 vectors, one row per text."""

    def encode_tokens(self, texts: Sequence[str], batch_size: int) -> list[TokenOutput]:
        """Per text: its normalised vector, its token embeddings and their character offsets."""


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


def usable_cpus() -> int:
    """The cores this process may run on (a container's or `taskset`'s limit, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def open_session(
    path: Path, threads: int, spin: bool = True, initializers: Mapping[str, Any] | None = None
) -> Any:
    """An ONNX Runtime session on the CPU for an exported graph (the encoder's or the
    reader's); a graph that cannot be loaded is reported with the way to export it again.

    `spin`: whether its worker threads keep spinning after a run, waiting for the next one
    (ONNX Runtime's default). That helps a session that runs alone; two sessions taking turns
    (the encoder, then the reader, for every question) each spin while the other runs, and on
    2 cores a question with the reader took 52 ms instead of 30 (docs/benchmarks.md).

    `initializers`: ONNX Runtime values that replace the graph's initializers of those names
    (`mapped.shared_tensor`: one table shared by several sessions); a name the graph lacks is
    ignored by ONNX Runtime."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    for name, value in (initializers or {}).items():
        options.add_initializer(name, value)
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelUnavailable(
            f"{path} cannot be loaded ({type(exc).__name__}); delete {path.parent} to export it "
            "again"
        ) from None


class OnnxEncoder:
    """A model exported by `onnx_export`, run by onnxruntime; its tokenizer is `tokens.load`'s."""

    def __init__(
        self,
        folder: Path,
        precision: str = "int8",
        threads: int | None = None,
        preload_session: bool = False,
        spin: bool = True,
    ) -> None:
        from . import tokens

        config: dict[str, Any] = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        self.precision = precision
        self.dimension = int(config["dimension"])
        self.max_seq_length = int(config["max_seq_length"])
        self.prompts: dict[str, str] = dict(config.get("prompts") or {})
        self._inputs: list[str] = list(config["inputs"])
        self._pooling = str(config["pooling"])
        self._pad_id = int(config.get("pad_id", 0))
        self._path = folder / (INT8_FILE if precision == "int8" else FLOAT_FILE)
        self._threads = threads or max(1, min(usable_cpus(), 8))
        self._spin = spin
        self._session_lock = threading.Lock()
        self._session_: Any = None
        if not self._path.is_file():
            raise ModelUnavailable(f"{self._path} is missing; delete {folder} to re-export it")
        if preload_session:
            # The session (~1.3 s for e5) loads in the background while the tokenizer loads
            # here. ONNX Runtime lets go of Python's lock for much of its loading, and so does
            # sentencepiece (tokens.py); `tokenizers` does not, so the thread gets a head start.
            import onnxruntime  # noqa: F401 - imported here: the thread has nothing to wait for

            # Not a daemon: an interpreter that exits while ONNX Runtime is mid-load aborts.
            threading.Thread(target=self._preload, name="khabar-onnx-load").start()
            time.sleep(0.01)
        self._tokenizer = tokens.load(folder, self.max_seq_length)

    def _preload(self) -> None:
        with contextlib.suppress(ModelUnavailable):  # raised again, to the caller, on first use
            self._session  # noqa: B018 - loads it

    @property
    def _session(self) -> Any:
        """The inference session: made on first use, or loading in the background since the
        encoder was made (`preload_session`); either way this waits until it is ready."""
        with self._session_lock:
            if self._session_ is None:
                self._session_ = open_session(self._path, self._threads, self._spin)
            return self._session_

    def token_spans(self, texts: Sequence[str]) -> list[Spans]:
        return [spans for _, spans in self._tokenizer.encode(texts, for_model=False)]

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """Batches of similar length, at most MAX_BATCH: for 32 news questions at once, 10 ms
        a question against 19 ms as one padded batch of 32 (and 16.6 ms one by one)."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        step = max(1, min(batch_size, MAX_BATCH))
        for begin in range(0, len(order), step):
            rows = order[begin : begin + step]
            hidden, mask, _ = self._run([texts[i] for i in rows], offsets=False)
            out[rows] = self._pool(hidden, mask)
        return out

    def encode_tokens(self, texts: Sequence[str], batch_size: int) -> list[TokenOutput]:
        results: list[TokenOutput] = []
        for begin in range(0, len(texts), max(1, batch_size)):
            hidden, mask, offsets = self._run(list(texts[begin : begin + batch_size]))
            vectors = self._pool(hidden, mask)
            for row, spans in enumerate(offsets):
                results.append((vectors[row], hidden[row, : len(spans)], spans))
        return results

    def _run(
        self, texts: list[str], offsets: bool = True
    ) -> tuple[np.ndarray, np.ndarray, list[Spans]]:
        encoded = self._tokenizer.encode(texts, for_model=True, offsets=offsets)
        width = max((len(ids) for ids, _ in encoded), default=1)
        ids = np.full((len(texts), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, (row_ids, _) in enumerate(encoded):
            ids[row, : len(row_ids)] = row_ids
            mask[row, : len(row_ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, {name: feed[name] for name in self._inputs})[0]
        return np.asarray(hidden, dtype=np.float32), mask, [spans for _, spans in encoded]

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self._pooling == "cls":
            return _normalise(hidden[:, 0])
        weights = mask[..., None].astype(np.float32)
        summed = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _normalise(summed)


class TorchEncoder:
    """Any sentence-transformers model, on torch.

    With `bf16`, matrix products run in bfloat16 under torch's autocast (layer norms, softmax
    and pooling stay float32): on CPUs with AMX about 2.5x faster for batches of passages, with
    vectors at cosine 0.99999 to float32's. Short single questions gain nothing (the weights are
    cast on every call), so only bulk encoding uses it.
    """

    precision = "float32"
    bf16 = False

    def __init__(self, path: str, name: str) -> None:
        if os.path.isdir(path):
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder needs no network
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        from .quiet import third_party_quiet

        hf_logging.disable_progress_bar()
        try:
            with third_party_quiet():  # transformers' report of weights the model does not use
                self.model: SentenceTransformer = SentenceTransformer(path, device="cpu")
        except Exception as exc:
            raise ModelUnavailable(
                f"could not load the model {name!r} ({type(exc).__name__}: {exc}); "
                "set KHABAR_MODEL to a sentence-transformers model name or a local folder"
            ) from exc
        get = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        dimension = get()
        if not dimension:
            raise ModelUnavailable(f"the model {name!r} does not report its dimension")
        self.dimension = int(dimension)
        self.max_seq_length = int(self.model.max_seq_length or 512)
        self.prompts: dict[str, str] = dict(getattr(self.model, "prompts", None) or {})

    def with_bf16(self) -> TorchEncoder:
        """The same model (shared, not copied), encoding under bfloat16 autocast."""
        twin = copy.copy(self)
        twin.bf16 = True
        return twin

    def _autocast(self) -> Any:
        import torch

        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16)

    def token_spans(self, texts: Sequence[str]) -> list[Spans]:
        tokenizer: Any = self.model.tokenizer
        encoded = tokenizer(
            list(texts), add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        return [[(int(a), int(b)) for a, b in spans] for spans in encoded["offset_mapping"]]

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        with self._autocast():
            vectors = self.model.encode(
                list(texts), batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False
            )
        return _normalise(np.asarray(vectors, dtype=np.float32))

    def encode_tokens(self, texts: Sequence[str], batch_size: int) -> list[TokenOutput]:
        with self._autocast():
            results: list[dict[str, Any]] = self.model.encode(  # type: ignore[assignment]
                list(texts), batch_size=batch_size, output_value=None, show_progress_bar=False
            )
        offsets = self.model.tokenizer(
            list(texts),
            return_offsets_mapping=True,
            truncation=True,
            max_length=self.model.max_seq_length,
        )["offset_mapping"]
        out: list[TokenOutput] = []
        for result, spans in zip(results, offsets, strict=True):
            vector = _normalise(result["sentence_embedding"].float().numpy())
            tokens = result["token_embeddings"].float().numpy()[: len(spans)]
            out.append((vector, tokens, [(int(a), int(b)) for a, b in spans]))
        return out
