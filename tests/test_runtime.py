"""The ONNX runtime: exported once, the same vectors as sentence-transformers on torch, and no
torch imported when answering."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.model import onnx_export
from index.model.embedder import Embedder
from tests.conftest import ROOT, TEST_MODEL

TEXTS = [
    "When was the Organization of Turkic States founded?",
    "Организация тюркских государств была основана в 2009 году.",
    "Türk Devletleri Teşkilatı 2009 yılında kuruldu.",
    "word " * 400,  # longer than the model reads: truncated the same way
]


def test_onnx_vectors_match_torch(embedder: Embedder, models_dir: Path) -> None:
    torch_model = Embedder(TEST_MODEL, runtime="torch")
    onnx_model = Embedder(TEST_MODEL, models_dir=models_dir, runtime="onnx")
    int8_model = Embedder(TEST_MODEL, models_dir=models_dir, runtime="onnx-int8")
    reference, ref_sentences = torch_model.encode_passages(TEXTS, sentences=[[(0, 20)]] * 4)
    vectors, sentences = onnx_model.encode_passages(TEXTS, sentences=[[(0, 20)]] * 4)
    assert np.min(np.sum(vectors * reference, axis=1)) > 0.9999
    for ours, theirs in zip(sentences, ref_sentences, strict=True):
        assert float(ours.astype(np.float32)[0] @ theirs.astype(np.float32)[0]) > 0.999
    quantised, _ = int8_model.encode_passages(TEXTS)
    assert np.min(np.sum(quantised * reference, axis=1)) > onnx_export.MIN_INT8_COSINE
    assert onnx_model.token_spans(TEXTS[:3]) == torch_model.token_spans(TEXTS[:3])
    assert onnx_model.max_tokens == torch_model.max_tokens
    assert (onnx_model.precision, int8_model.precision) == ("float32", "int8")


def test_export_is_checked_cached_and_reused(embedder: Embedder, models_dir: Path) -> None:
    folders = [p for p in (models_dir / "onnx").iterdir() if not p.name.startswith(".")]
    assert folders, "the session's embedder exported the model"
    config = json.loads((folders[0] / onnx_export.CONFIG_FILE).read_text())
    assert config["cosine_float32"] >= onnx_export.MIN_FLOAT_COSINE
    assert config["cosine_int8"] >= onnx_export.MIN_INT8_COSINE
    # MiniLM and e5 are BERTs: the float32 graph has attention fused into one operator per
    # layer (onnx_fuse), and still gives torch's vectors (the cosine above).
    import onnx
    from transformers import AutoConfig

    layers = AutoConfig.from_pretrained(config["source"]).num_hidden_layers
    graph = onnx.load(str(folders[0] / onnx_export.FLOAT_FILE), load_external_data=False)
    assert config["fused_attention"] is True
    assert [n.op_type for n in graph.graph.node].count("Attention") == layers
    stamp = (folders[0] / onnx_export.FLOAT_FILE).stat().st_mtime_ns
    Embedder(TEST_MODEL, models_dir=models_dir, runtime="onnx").dimension  # noqa: B018
    assert (folders[0] / onnx_export.FLOAT_FILE).stat().st_mtime_ns == stamp
    for name in (onnx_export.FLOAT_FILE, onnx_export.INT8_FILE):  # weights beside the graph
        assert (folders[0] / name).stat().st_size < onnx_export.INLINE_WEIGHTS
        assert (folders[0] / (name + ".data")).stat().st_size > onnx_export.INLINE_WEIGHTS


def test_an_export_with_weights_inside_the_graph_is_converted_once(
    embedder: Embedder, models_dir: Path, tmp_path: Path
) -> None:
    """Exports made before the weights moved out of the graph still load, and are moved."""
    import onnx

    from index.model.encoders import OnnxEncoder

    source = next(p for p in (models_dir / "onnx").iterdir() if not p.name.startswith("."))
    old = tmp_path / "old"
    shutil.copytree(source, old)
    for name in (onnx_export.FLOAT_FILE, onnx_export.INT8_FILE):
        onnx.save_model(onnx.load(str(source / name)), str(old / name))  # weights inline
        (old / (name + ".data")).unlink()
    assert (old / onnx_export.FLOAT_FILE).stat().st_size > onnx_export.INLINE_WEIGHTS
    before = OnnxEncoder(old, "float32").encode(TEXTS, batch_size=4)
    onnx_export.externalise(old)
    assert (old / onnx_export.FLOAT_FILE).stat().st_size < onnx_export.INLINE_WEIGHTS
    stamp = (old / (onnx_export.FLOAT_FILE + ".data")).stat().st_mtime_ns
    onnx_export.externalise(old)  # once
    assert (old / (onnx_export.FLOAT_FILE + ".data")).stat().st_mtime_ns == stamp
    after = OnnxEncoder(old, "float32").encode(TEXTS, batch_size=4)
    assert np.array_equal(before, after)
    assert [p.name for p in old.iterdir() if p.name.startswith(".")] == []  # no staging left


def test_answering_on_onnx_never_imports_torch(embedder: Embedder, models_dir: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from index.model.embedder import Embedder; "
        f"e = Embedder({TEST_MODEL!r}, models_dir=Path({str(models_dir)!r}), runtime='onnx'); "
        "v = e.encode_with_prompt(['hello'], e.query_prompt); "
        "print(v.shape[1], 'torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KHABAR_")}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["384", "False", "False"]


def test_large_float32_jobs_encode_on_torch_with_the_same_vectors(
    embedder: Embedder, models_dir: Path
) -> None:
    from index.model.embedder import BULK_PASSAGES
    from index.model.encoders import OnnxEncoder, TorchEncoder

    model = Embedder(TEST_MODEL, models_dir=models_dir, runtime="onnx", bulk="torch")
    assert isinstance(model.bulk_encoder(3)[0], OnnxEncoder)
    assert isinstance(model.bulk_encoder(BULK_PASSAGES)[0], TorchEncoder)
    texts = [
        f"Passage number {i} about the Caspian ferry and wheat. " * (1 + i % 7)
        for i in range(BULK_PASSAGES)
    ]
    many, _ = model.encode_passages(texts)
    few, _ = model.encode_passages(texts[:5])
    assert np.min(np.sum(many[:5] * few, axis=1)) > 0.9999
    int8 = Embedder(TEST_MODEL, models_dir=models_dir, runtime="onnx-int8")
    assert isinstance(int8.bulk_encoder(BULK_PASSAGES)[0], OnnxEncoder)  # int8 stays int8


def test_bf16_bulk_encoding_gives_the_float32_vectors(embedder: Embedder, models_dir: Path) -> None:
    """bfloat16 autocast, forced on (emulated where the CPU lacks it): the passage vectors and
    the sentence vectors pooled from its token embeddings stay at cosine 0.9999 to float32."""
    from index.model.embedder import BULK_PASSAGES
    from index.model.encoders import TorchEncoder

    fast = Embedder(TEST_MODEL, models_dir=models_dir, runtime="onnx", bulk="torch-bf16")
    plain = Embedder(TEST_MODEL, models_dir=models_dir, runtime="onnx", bulk="torch")
    bulk = fast.bulk_encoder(BULK_PASSAGES)[0]
    assert isinstance(bulk, TorchEncoder) and bulk.bf16
    assert not plain.bulk_encoder(BULK_PASSAGES)[0].bf16  # type: ignore[attr-defined]
    texts = [
        f"Passage {i}. Ferries cross the Caspian with wheat. Rail links reach Kars. " * (1 + i % 5)
        for i in range(BULK_PASSAGES)
    ]
    spans = [[(0, 10), (11, 50)] for _ in texts]
    fast_vectors, fast_sentences = fast.encode_passages(texts, sentences=spans)
    plain_vectors, plain_sentences = plain.encode_passages(texts, sentences=spans)
    assert np.min(np.sum(fast_vectors * plain_vectors, axis=1)) > 0.9999
    cosines = [
        float(np.min(np.sum(a.astype(np.float32) * b.astype(np.float32), axis=1)))
        for a, b in zip(fast_sentences, plain_sentences, strict=True)
    ]
    assert min(cosines) > 0.999
    assert not np.array_equal(fast_vectors, plain_vectors)  # it did run in bfloat16


def test_the_tokenizer_copy_does_not_make_a_new_export(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Khabar's sentencepiece copy of the tokenizer appears in the model folder after the
    first export; it must not change the export's folder (a second 500 MB export, and a first
    question waiting for it, as a fresh install showed)."""
    from index.model import tokens
    from index.model.onnx_export import onnx_folder

    model = tmp_path / "e5"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"x" * 10)
    before = onnx_folder(tmp_path, "e5", str(model))
    (model / tokens.MODEL_FILE).write_bytes(b"spm")
    (model / (tokens.MODEL_FILE + ".json")).write_text('{"made": true}')
    assert onnx_folder(tmp_path, "e5", str(model)) == before
    (model / "config.json").write_text('{"changed": 1}')
    assert onnx_folder(tmp_path, "e5", str(model)) != before


def test_the_bulk_encoder_is_chosen_by_measuring() -> None:
    """The fastest candidate whose vectors match the reference's wins; one that differs, or
    cannot run, never does. Timed with a fake clock: the test does not depend on this CPU."""
    from index.model.calibration import Trial, choose, measure

    rng = np.random.default_rng(7)
    reference = rng.normal(size=(6, 8)).astype(np.float32)
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)

    class Fake:
        def __init__(self, seconds: float, noise: float) -> None:
            self.seconds, self.noise = seconds, noise

        def encode_tokens(self, texts: list[str], batch_size: int) -> list[tuple]:  # type: ignore[type-arg]
            clock.now += self.seconds * len(texts) / 6  # "encoding" moves the fake clock
            out = reference[: len(texts)] + self.noise * rng.normal(size=(len(texts), 8))
            out = (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)
            return [(vector, np.zeros((0, 8)), []) for vector in out]

    class Clock:
        now = 0.0

        def __call__(self) -> float:
            return self.now

    clock = Clock()

    def broken() -> Fake:
        raise ImportError("No module named 'torch'")

    trials = measure(
        {"onnx": lambda: Fake(3.0, 0.0), "torch": broken, "torch-bf16": lambda: Fake(1.0, 0.0)},
        [f"p{i}" for i in range(6)],
        clock=clock,
    )
    assert [(t.encoder, t.seconds) for t in trials] == [
        ("onnx", 3.0),
        ("torch", float("inf")),
        ("torch-bf16", 1.0),
    ]
    assert "torch" in trials[1].error and choose(trials) == "torch-bf16"
    # One far behind is not timed in full: three times slower on the probe (4 of the 6
    # texts), it never encodes all six; the two close ones do, twice. Its seconds are the
    # probe's, scaled.
    runs: dict[str, int] = {}

    class Counted(Fake):
        def __init__(self, name: str, seconds: float) -> None:
            super().__init__(seconds, 0.0)
            self.name = name

        def encode_tokens(self, texts: list[str], batch_size: int) -> list[tuple]:  # type: ignore[type-arg]
            if len(texts) == 6:
                runs[self.name] = runs.get(self.name, 0) + 1
            return super().encode_tokens(texts, batch_size)

    trials = measure(
        {
            name: (lambda n=name, s=s: Counted(n, s))
            for name, s in (("onnx", 1.2), ("torch", 1.0), ("torch-bf16", 3.0))
        },
        [f"p{i}" for i in range(6)],
        clock=clock,
    )
    assert runs == {"onnx": 2, "torch": 2}
    assert [t.seconds for t in trials] == [1.2, 1.0, 3.0] and choose(trials) == "torch"
    assert choose([Trial("onnx", 3.0, 1.0), Trial("torch-bf16", 1.0, 0.99)]) == "onnx"
    assert choose([Trial("onnx", 3.0, 1.0), Trial("torch", 2.0, 0.99995)]) == "torch"
    assert choose([]) == "onnx"


def test_a_calibration_is_made_once_per_machine_and_model(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real candidates on tiny batches: all three give the reference's vectors; the choice
    is written down and used by the next build without measuring again."""
    from index.model import calibration
    from index.model.embedder import BULK_PASSAGES

    own = models_dir
    (own / calibration.FILE_NAME).unlink(missing_ok=True)
    monkeypatch.setattr(calibration, "PASSAGES", 4)
    model = Embedder(TEST_MODEL, models_dir=own, runtime="onnx")
    encoder = model.bulk_encoder(BULK_PASSAGES)[0]
    [entry] = json.loads((own / calibration.FILE_NAME).read_text()).values()
    trials = {t["encoder"]: t for t in entry["trials"]}
    assert set(trials) == {"onnx", "torch", "torch-bf16"}
    assert all(t["cosine"] >= 0.999 and not t["error"] for t in trials.values())
    expected = {"onnx": "OnnxEncoder", "torch": "TorchEncoder", "torch-bf16": "TorchEncoder"}
    assert type(encoder).__name__ == expected[entry["choice"]]
    assert getattr(encoder, "bf16", False) == (entry["choice"] == "torch-bf16")

    def measured_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("measured again")

    monkeypatch.setattr(calibration, "measure", measured_again)
    again = Embedder(TEST_MODEL, models_dir=own, runtime="onnx").bulk_encoder(BULK_PASSAGES)[0]
    assert type(again).__name__ == type(encoder).__name__


def test_checking_a_remembered_calibration_does_not_import_torch() -> None:
    """Every build of 256+ passages looks its choice up by `machine_key`, which names torch's
    version: read from the installed package, not by importing torch (1.6% of a build)."""
    import subprocess
    import sys

    code = (
        "import sys; from index.model import calibration; key = calibration.machine_key('e5'); "
        "assert len(key) == 16 and 'torch' not in sys.modules, sorted(sys.modules)[:5]"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)


def test_freed_memory_goes_back_between_batches() -> None:
    """On glibc, `malloc_trim` is found and called (the build's peak memory depends on it:
    docs/benchmarks.md); elsewhere the call does nothing."""
    import sys

    from index.model import memory

    if sys.platform.startswith("linux") and os.path.exists("/lib/x86_64-linux-gnu/libc.so.6"):
        assert memory._libc() is not None
    memory.release_freed_memory()  # must never raise


def test_a_graph_that_cannot_be_fused_keeps_the_plain_one(tmp_path: Path) -> None:
    """Fusing is an optimisation: a model that is not BERT-like, or a graph the optimizer
    cannot read, leaves the plain graph as it was and says so with False."""
    from types import SimpleNamespace

    from index.model.onnx_fuse import fuse

    plain = tmp_path / "model.onnx"
    plain.write_bytes(b"the plain graph")
    broken = tmp_path / "eager.onnx"
    broken.write_bytes(b"not an onnx graph")
    bert = SimpleNamespace(
        model_type="bert", num_attention_heads=12, hidden_size=384, num_hidden_layers=12
    )
    assert fuse(broken, plain, bert) is False
    assert fuse(broken, plain, SimpleNamespace(model_type="t5")) is False
    assert plain.read_bytes() == b"the plain graph"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eager.onnx", "model.onnx"]
