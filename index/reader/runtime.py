"""The reader at answer time: exported once to ONNX (checked against torch), then run by ONNX
Runtime on a question and a few passages at once, like the encoder. Torch is needed only for
the export, which happens once per machine and set of weights."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..articles.lexical import languages_differ
from ..articles.sentences import sentence_spans
from ..errors import ModelUnavailable
from ..model import e5convert, mapped, tokens
from ..model.encoders import open_session, usable_cpus
from ..model.onnx_export import publish_folder
from ..model.onnx_fuse import export_fused
from ..model.quiet import third_party_quiet
from . import kinds
from . import model as reader_model
from .pairs import (
    NEGATIVE,
    QUESTION_PREFIX,
    Pair,
    Specials,
    allowed_mask,
    best_span,
    dateline_end,
    make_pair,
    sentence_best,
)

log = logging.getLogger(__name__)
GRAPH = "reader.onnx"
INT8_GRAPH = "reader-int8.onnx"  # weights in int8, activations quantised as it runs (`_quantize`)
CONFIG = "reader-onnx.json"
MAX_LENGTH = 512  # whole passages: Khabar's are at most 320 tokens
MAX_DIFFERENCE = 1e-3  # the largest logit difference between ONNX and torch that is accepted
# e5's word-embedding table: its name in the reader's graph (the module `_with_states` wraps)
# and in e5's weights file. No recipe trains it (`reader_model.is_trained`), so both graphs
# are written without it (`_without_embeddings`), and each session takes it from one mapping of
# e5's file (`mapped`, `OnnxReader.shared`).
EMBEDDINGS_GRAPH = "reader.encoder.embeddings.word_embeddings.weight"
EMBEDDINGS_E5 = "embeddings.word_embeddings.weight"
E5_WEIGHTS = "model.safetensors"
CHECK_PAIRS = (
    (
        "When was the Organization of Turkic States founded?",
        "Founded in 2009 on the ancient Azerbaijani land of Nakhchivan, the Organization grew.",
    ),
    (
        "Когда была основана Организация тюркских государств?",
        "Türk Devletleri Teşkilatı 2009 yılında Nahçıvan'da kuruldu.",
    ),
)


@dataclass(frozen=True)
class Reading:
    """What the reader found in one passage: the answer's characters and how sure it is
    (span score minus no-answer score; above the recipe's threshold: it answers)."""

    score: float
    start: int
    end: int
    # Each sentence's best span (`sentence_spans(passage)`, in order), for choosing the excerpt:
    # None for a sentence past the window.
    sentences: tuple[Reading | None, ...] = ()
    # The span's own score where it is not the best span: one of the kind the question asks for
    # (`kinds`), or one in a sentence that matches the question better (`lean`), chosen over
    # a better one. `score` stays the best span's: how sure the reader is that the passage
    # answers.
    span_score: float | None = None
    # What each sentence's match with the question adds to its span's score where the span
    # and the excerpt are chosen (`sentence_match`, times the reader's `match_weight`); empty
    # when the match is not used.
    lean: tuple[float, ...] = ()

    @property
    def span(self) -> float:
        """How sure the reader is of this span."""
        return self.score if self.span_score is None else self.span_score


# 2: the float32 graph with fused attention (`onnx_fuse`); 3: its last hidden states as a
# third output (`sentence_match`); 4: both graphs without e5's embedding table, which their
# sessions take from e5's weights file (`_without_embeddings`, `OnnxReader.shared`), the int8
# one with its matrix products alone quantised; 5: the int8 graph quantised from the fused one,
# its attention too; 6: the upper half of its layers' second feed-forward products kept float32
# (`_quantize`)
EXPORT_VERSION = 6
FOLDER_NAME = re.compile(r"khabar-reader-v(\d+)-([0-9a-f]{16})")


def onnx_folder(models_dir: Path, sha: str) -> Path:
    return models_dir / f"khabar-reader-v{EXPORT_VERSION}-{sha[:16]}"


def _remove_older_exports(folder: Path) -> None:
    """Remove the exports of the same weights by an earlier EXPORT_VERSION beside `folder`
    (0.55 GB each before version 4, 70 MB since), once the new one is in place: only Khabar
    reads them."""
    mine = FOLDER_NAME.fullmatch(folder.name)
    assert mine is not None
    for old in folder.parent.glob("khabar-reader-v*-*"):
        theirs = FOLDER_NAME.fullmatch(old.name)
        if theirs and theirs[2] == mine[2] and int(theirs[1]) < EXPORT_VERSION:
            log.warning("removing %s, an earlier export of the same reader", old)
            shutil.rmtree(old, ignore_errors=True)


def ensure_onnx(models_dir: Path, weights_dir: Path = reader_model.WEIGHTS_DIR) -> Path:
    """The reader's ONNX folder for the shipped weights, exported and checked on first use."""
    _, _, sha = reader_model.verified_weights(weights_dir)
    folder = onnx_folder(models_dir, sha)
    if (folder / CONFIG).is_file():
        return folder
    e5 = e5convert.ensure_model(models_dir)
    published = publish_folder(
        folder, lambda staging: _export(e5, weights_dir, staging), lambda f: (f / CONFIG).is_file()
    )
    _remove_older_exports(published)
    return published


def _export_graph(model: Any, path: Path) -> None:
    """The reader as an ONNX graph at `path`, batch and length free."""
    import torch

    ids = torch.tensor([[0, 100, 200, 2, 2, 300, 400, 500, 2]])
    outputs = ["start_logits", "end_logits", "hidden"]
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _with_states(model),
            (ids, torch.ones_like(ids)),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=outputs,
            dynamic_axes={
                n: {0: "batch", 1: "tokens"} for n in ("input_ids", "attention_mask", *outputs)
            },
            opset_version=17,
            dynamo=False,
        )


def _with_states(model: Any) -> Any:
    """The reader with its last hidden states as a third output (`sentence_match` reads
    them): the same two logits."""
    import torch

    class WithStates(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.reader = model

        def forward(self, input_ids: Any, attention_mask: Any) -> tuple[Any, Any, Any]:
            hidden = self.reader.encoder(input_ids=input_ids, attention_mask=attention_mask)[0]
            logits = self.reader.qa(hidden)
            return logits[..., 0], logits[..., 1], hidden

    return WithStates().eval()


def _export(e5: Path, weights_dir: Path, out: Path) -> None:
    import torch

    log.warning("exporting the reader to ONNX, once (about 15 seconds)")
    with third_party_quiet():  # transformers' report of e5's weights the reader does not use
        model, recipe = reader_model.load(e5, weights_dir)
    # Traced with a few rows of e5's table, which both graphs then lose (`_without_embeddings`):
    # neither the export nor the quantisation carries the 366 MiB table.
    with _few_rows(model):
        _export_graph(model, out / GRAPH)
        # The float32 graph again with eager attention, fused into one operator per layer: the
        # same logits, faster.
        fused = export_fused(lambda path: _export_graph(model, path), model.encoder, out / GRAPH)
        _quantize(out / GRAPH, out / INT8_GRAPH, recipe.layers)
    for graph in (GRAPH, INT8_GRAPH):
        _without_embeddings(out / graph)
    # e5's folder by name: it sits beside this one in the models folder, wherever that is moved
    # or whichever folder khabar runs from.
    config = {
        "e5": e5.name,
        "pad_id": model.pad_id,
        "fused_attention": fused,
        "recipe": recipe.__dict__,
    }
    (out / CONFIG).write_text(json.dumps(config, indent=2), encoding="utf-8")
    reader = OnnxReader(out, e5, precision="float32", weights_dir=weights_dir)
    pairs = [reader.pair(q, p) for q, p in CHECK_PAIRS]
    ours = reader.logits(pairs)[:2]
    batch = reader.batch(pairs)
    with torch.no_grad():
        theirs = model(torch.from_numpy(batch[0]), torch.from_numpy(batch[1]))
    difference = max(
        float(np.max(np.abs(a - b.numpy()))) for a, b in zip(ours, theirs, strict=True)
    )
    if difference > MAX_DIFFERENCE:
        raise ModelUnavailable(
            f"the reader's ONNX export differs from torch by {difference:.4f}; "
            "set KHABAR_READER=off"
        )


HEAD_PRODUCT = "/qa/MatMul"  # the answer head's matrix product in the exported graphs


def second_feed_forward(layer: int) -> str:
    """The name of a layer's second feed-forward matrix product in the exported graphs."""
    return f"/encoder/encoder/layer.{layer}/output/dense/MatMul"


def _quantize(graph: Path, out: Path, layers: int) -> None:
    """The int8 copy of `graph` (`quantize_int8`): its matrix products and its fused attention
    (ONNX Runtime's `QAttention`). Three stay float32: the answer head; e5's embeddings (from
    its file); and the second feed-forward product of the upper half of the `layers`, whose
    input (the GELU's output) has values too far apart for one scale a run. Quantised too, the
    reader's scores moved 1.1 logits from float32's on average, and Russian questions against
    English news were declined 0.871 of the time instead of 0.905; kept, the scores move 0.44
    and the declines stay, for 1.7-1.9 times float32's speed instead of about 2 (a 2-core
    AVX-512 EPYC; docs/benchmarks.md, section 9)."""
    upper = [second_feed_forward(k) for k in range(layers // 2, layers)]
    quantize_int8(graph, out, ["MatMul", "Attention"], [*upper, HEAD_PRODUCT])


def quantize_int8(graph: Path, out: Path, ops: Sequence[str], keep: Sequence[str]) -> None:
    """ONNX Runtime's dynamic quantisation of `graph` into `out`: the weights of the operators
    of the `ops` types in int8, per output channel, their inputs quantised as each run goes;
    the nodes named in `keep` stay float32 (`bench/reader/int8_variants.py` tries others)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with third_party_quiet():  # "consider pre-processing", and every tensor
        quantize_dynamic(
            str(graph),
            str(out),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=list(ops),
            nodes_to_exclude=list(keep),
            # the fused graph's own operators give shape inference no output types
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )


TRACE_ROWS = 1024  # rows of e5's table in the graph while it is traced (its ids are fewer)


@contextlib.contextmanager
def _few_rows(model: Any) -> Iterator[None]:
    """The reader's word embeddings cut to their first `TRACE_ROWS` rows for the duration."""
    import torch

    embeddings = model.encoder.embeddings.word_embeddings
    whole = embeddings.weight
    embeddings.weight = torch.nn.Parameter(whole.data[:TRACE_ROWS].clone(), requires_grad=False)
    try:
        yield
    finally:
        embeddings.weight = whole


def _without_embeddings(graph: Path) -> None:
    """Rewrite `graph` with an empty word-embedding table (0 rows) in place of the one it was
    traced with: its session takes e5's from e5's weights file (`OnnxReader.shared`), so
    neither the file nor opening it holds the 366 MiB table; run without it, the graph fails
    at its first token rather than reading wrong numbers."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(graph))
    for i, tensor in enumerate(model.graph.initializer):
        if tensor.name == EMBEDDINGS_GRAPH:
            width = int(tensor.dims[1])
            empty = np.zeros((0, width), dtype=np.float32)
            model.graph.initializer[i].CopyFrom(numpy_helper.from_array(empty, EMBEDDINGS_GRAPH))
            break
    else:
        raise ModelUnavailable(f"{graph} has no {EMBEDDINGS_GRAPH}; set KHABAR_READER=off")
    staging = graph.with_name(".stripped.onnx")
    onnx.save(model, str(staging))
    os.replace(staging, graph)


READ_BATCH = 8  # pairs per run at most when several questions are read together
# A run's padding, at most, as a share of its pairs' own tokens (`runs`).
PAD_SLACK = 0.05
KIND_MARGIN = float("inf")  # see `OnnxReader.kind_margin`
# See `OnnxReader.match_weight` and docs/reader.md ("Which sentence matches the question").
MATCH_WEIGHT = 50.0


class OnnxReader:
    """Reads a question with passages: `read(question, passages) -> [Reading | None]`."""

    # A run's padding, at most, as a share of its pairs' own tokens (`runs`); the benchmarks
    # that try other bounds set it on the class.
    pad_slack: float = PAD_SLACK

    def __init__(
        self,
        folder: Path,
        e5: Path | None = None,
        precision: str = "float32",
        weights_dir: Path = reader_model.WEIGHTS_DIR,
        kind_margin: float | None = KIND_MARGIN,
        match_weight: float = MATCH_WEIGHT,
    ) -> None:
        # A span of the kind the question asks for (a year, a number, a percentage) is chosen
        # over a better span of another kind when it scores at most this far under it; None:
        # the best span, whatever its kind (docs/reader.md).
        self.kind_margin = kind_margin
        # Across languages (`lexical.languages_differ`), logits a unit of a sentence's match
        # with the question (`sentence_match`) adds to its span where the span and the excerpt
        # are chosen; 0: the span scores alone.
        self.match_weight = match_weight
        config = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
        # The thresholds come from the card, which may be newer than the export.
        self.recipe = reader_model.Recipe(**reader_model.read_card(weights_dir)["recipe"])
        self._path = folder / (INT8_GRAPH if precision == "int8" else GRAPH)
        self.precision = precision
        # Earlier exports wrote a path (relative to where khabar ran): only its name counts.
        self._e5 = e5 or folder.parent / Path(config["e5"]).name
        self._tokenizer = tokens.load(self._e5, MAX_LENGTH)
        ((ids, _),) = self._tokenizer.encode([""], for_model=True)
        self.specials = Specials(bos=ids[0], eos=ids[-1], pad=int(config["pad_id"]))
        self._lock = threading.Lock()
        self._session_: Any = None
        # It runs right after the encoder, for every question: no spinning (`open_session`).
        self.spin = False

    @property
    def _session(self) -> Any:
        with self._lock:
            if self._session_ is None:
                threads = max(1, min(usable_cpus(), 8))
                self._session_ = open_session(
                    self._path, threads, spin=self.spin, initializers=self.shared()
                )
            return self._session_

    def shared(self) -> dict[str, Any]:
        """The initializers this reader's session takes from e5's weights file, which its
        graph does not hold (`_without_embeddings`): e5's word-embedding table, mapped once
        for every session of the process (`mapped`); the int8 graph's too, whose embeddings
        are not quantised (`_quantize`). Without e5's file neither graph can run: that is
        reported with the way to prepare both again."""
        weights = self._e5 / E5_WEIGHTS
        table = mapped.shared_tensor(weights.resolve(), EMBEDDINGS_E5)
        if table is None:
            raise ModelUnavailable(
                f"{weights} is missing or damaged, and the reader takes e5's embeddings from it; "
                f"delete {self._e5} and {self._path.parent} to prepare them again"
            )
        return {EMBEDDINGS_GRAPH: table}

    def pair(self, question: str, passage: str) -> Pair:
        (q_ids, _), (p_ids, offsets) = self._tokenizer.encode(
            [QUESTION_PREFIX + question, passage], for_model=False
        )
        return make_pair(q_ids, p_ids, offsets, self.specials, MAX_LENGTH)

    def batch(self, pairs: Sequence[Pair]) -> tuple[np.ndarray, np.ndarray]:
        width = max(len(p.ids) for p in pairs)
        ids = np.full((len(pairs), width), self.specials.pad, dtype=np.int64)
        mask = np.zeros((len(pairs), width), dtype=np.int64)
        for row, p in enumerate(pairs):
            ids[row, : len(p.ids)] = p.ids
            mask[row, : len(p.ids)] = 1
        return ids, mask

    def logits(self, pairs: Sequence[Pair]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Start and end logits, and the last hidden states, of each pair (padded)."""
        ids, mask = self.batch(pairs)
        start, end, hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
        return np.asarray(start), np.asarray(end), np.asarray(hidden)

    def read(
        self, question: str, passages: Sequence[str], langs: Sequence[str | None] | None = None
    ) -> list[Reading | None]:
        """Each passage's best answer span (characters of the passage) and its score; `langs`:
        the passages' declared languages, where known (whether the question's differs)."""
        return self.read_pairs([(question, p) for p in passages], langs)

    def read_pairs(
        self,
        asked: Sequence[tuple[str, str]],
        langs: Sequence[str | None] | None = None,
        across: Sequence[bool] | None = None,
    ) -> list[Reading | None]:
        """`read` for (question, passage) pairs of several questions, in runs of pairs of
        about the same length (`runs`: a token of padding costs what a token read does).
        `langs`: each passage's declared language, where known; `across`: whether each pair's
        languages differ, where the caller has already asked (`lexical.languages_differ`, as
        `routing.ByLanguage` does to choose the reader)."""
        if not asked:
            return []
        if across is None:  # only the sentence match asks
            declared = list(langs) if langs else [None] * len(asked)
            across = [
                bool(self.match_weight) and languages_differ(q, p, lang)
                for (q, p), lang in zip(asked, declared, strict=True)
            ]
        pairs = [self.pair(q, p) for q, p in asked]
        out: list[Reading | None] = [None] * len(pairs)
        for rows in runs([len(p.ids) for p in pairs], READ_BATCH, self.pad_slack):
            starts, ends, states = self.logits([pairs[i] for i in rows])
            for i, s, e, h in zip(rows, starts, ends, states, strict=True):
                n = len(pairs[i].ids)
                question, passage = asked[i]
                sentences = sentence_spans(passage)
                lean = (
                    tuple(self.match_weight * m for m in sentence_match(pairs[i], h[:n], sentences))
                    if self.match_weight and across[i]
                    else ()
                )
                out[i] = self._reading(
                    pairs[i],
                    s[:n],
                    e[:n],
                    sentences,
                    dateline_end(passage),
                    self._kind_spans(question, passage),
                    self.kind_margin,
                    lean,
                )
        return out

    def _kind_spans(self, question: str, passage: str) -> list[tuple[int, int]] | None:
        """Where the passage holds answers of the kind the question asks for; None when the
        question does not say or kinds are not used."""
        if self.kind_margin is None:
            return None
        kind = kinds.expected(question)
        return None if kind is None else kinds.answers(kind, passage)

    @staticmethod
    def _reading(
        p: Pair,
        s: np.ndarray,
        e: np.ndarray,
        sentences: Sequence[tuple[int, int]] = (),
        skip: int = 0,
        kind_spans: Sequence[tuple[int, int]] | None = None,
        kind_margin: float | None = None,
        lean: Sequence[float] = (),
    ) -> Reading | None:
        """The best span, and each sentence's; no span starts in the passage's first `skip`
        characters (its dateline). With `kind_spans` (characters that hold answers of the kind
        asked), the best span that starts and ends on them instead, when it scores at most
        `kind_margin` under the best span: then each sentence's best such span as well. With
        `lean` (per sentence, what its match with the question adds), the span is the best
        sentence's span by its score plus its sentence's lean, unless that sentence is the
        one the span chosen so far starts in."""
        allowed = allowed_mask(len(s), p.first, p.last)
        allowed[p.first : p.first + sum(1 for a, _ in p.offsets if a < skip)] = False
        s, e = np.where(allowed, s, NEGATIVE), np.where(allowed, e, NEGATIVE)
        span = best_span(s, e, p.first, p.last)
        if span is None:
            return None
        must = None
        chosen = span
        if kind_spans is not None and kind_margin is not None:
            must = _flag_tokens(p, kind_spans) & allowed
            typed = best_span(s, e, p.first, p.last, must)
            if typed is not None and typed.score >= span.score - kind_margin:
                chosen = typed
            else:
                must = None
        bests = sentence_best(s, e, p, sentences, must)
        within = tuple(
            None
            if x is None or p.offsets[x.start][0] < skip
            else Reading(x.score, p.offsets[x.start][0], p.offsets[x.end][1])
            for x in bests
        )
        lean = tuple(lean)  # one per sentence (`_leaned` zips them strictly)
        if lean:
            leaned = _leaned(within, lean)
            begins = p.offsets[chosen.start][0]
            if leaned is not None and not sentences[leaned][0] <= begins < sentences[leaned][1]:
                picked = bests[leaned]
                assert picked is not None
                chosen = picked
        return Reading(
            span.score,
            p.offsets[chosen.start][0],
            p.offsets[chosen.end][1],
            within,
            None if chosen is span else chosen.score,
            lean,
        )


def runs(
    lengths: Sequence[int], most: int = READ_BATCH, slack: float = PAD_SLACK
) -> list[list[int]]:
    """The indexes of pairs of these token `lengths` in runs to read together: shortest first,
    at most `most` a run, and a run padded by at most `slack` of its pairs' own tokens. A run
    costs a token of padding what it costs a token read, and the reader reads a token in a run
    of eight for about what it costs alone (docs/benchmarks.md, section 10): where lengths
    differ, one run per pair is cheaper than a padded run."""
    out: list[list[int]] = []
    run: list[int] = []
    tokens = 0
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        n = lengths[i]  # the longest of the run so far: every pair of the run is padded to it
        if run and (len(run) == most or n * (len(run) + 1) > (1 + slack) * (tokens + n)):
            out.append(run)
            run, tokens = [], 0
        run.append(i)
        tokens += n
    if run:
        out.append(run)
    return out


def _leaned(within: Sequence[Reading | None], lean: Sequence[float]) -> int | None:
    """The sentence whose span scores best with its sentence's lean added; None without one."""
    scored = [(r.score + x, k) for k, (r, x) in enumerate(zip(within, lean, strict=True)) if r]
    return max(scored)[1] if scored else None


def sentence_match(
    p: Pair, hidden: np.ndarray, sentences: Sequence[tuple[int, int]]
) -> list[float]:
    """How well each sentence of the passage matches the question, in the reader's own last
    hidden states: for each question token, its best cosine with a token of the sentence,
    averaged over the question's tokens (late interaction, as ColBERT scores a passage). A
    sentence the window does not reach matches 0. Across languages, where the reader's span
    scores say little about which sentence is asked about, this tells "founded in 2009" from
    "held in 1926" for "when was it founded?" asked in Kazakh or Uzbek (docs/reader.md)."""
    if not sentences:
        return []
    unit = hidden / np.maximum(np.linalg.norm(hidden, axis=1, keepdims=True), 1e-6)
    question = unit[1 : p.first - 2]  # <s> question </s></s> passage </s>
    starts = np.array([a for a, _ in p.offsets])
    out = []
    for a, b in sentences:
        inside = np.nonzero((starts >= a) & (starts < b))[0]
        if not len(inside) or not len(question):
            out.append(0.0)
            continue
        sims = question @ unit[p.first + inside].T
        out.append(float(sims.max(axis=1).mean()))
    return out


def _flag_tokens(p: Pair, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """A flag per window position: the passage tokens that overlap one of `spans` (characters)."""
    flags = np.zeros(len(p.ids), dtype=bool)
    if spans and p.offsets:
        tokens, answers = np.array(p.offsets), np.array(spans)
        overlap = (tokens[:, :1] < answers[None, :, 1]) & (answers[None, :, 0] < tokens[:, 1:])
        flags[p.first : p.last] = overlap.any(axis=1)
    return flags
