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

from index import onnx_export
from index.embedder import Embedder
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

    from index.encoders import OnnxEncoder

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
        "import sys; from pathlib import Path; from index.embedder import Embedder; "
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
    from index.embedder import BULK_PASSAGES
    from index.encoders import OnnxEncoder, TorchEncoder

    model = Embedder(TEST_MODEL, models_dir=models_dir, runtime="onnx")
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


def test_cpu_bf16_detection_reads_the_cpu_flags() -> None:
    from index.encoders import cpu_has_bf16

    assert cpu_has_bf16("processor\t: 0\nflags\t\t: fpu sse2 avx2 amx_bf16 amx_tile\n")
    assert cpu_has_bf16("flags\t: fpu avx512f avx512_bf16\n")
    assert not cpu_has_bf16("flags\t: fpu sse2 avx2 avx512f avx512_vnni\n")
    assert not cpu_has_bf16("")


def test_bf16_bulk_encoding_gives_the_float32_vectors(embedder: Embedder, models_dir: Path) -> None:
    """bfloat16 autocast, forced on (emulated where the CPU lacks it): the passage vectors and
    the sentence vectors pooled from its token embeddings stay at cosine 0.9999 to float32."""
    from index.embedder import BULK_PASSAGES
    from index.encoders import TorchEncoder

    fast = Embedder(TEST_MODEL, models_dir=models_dir, runtime="onnx", bulk_bf16=True)
    plain = Embedder(TEST_MODEL, models_dir=models_dir, runtime="onnx", bulk_bf16=False)
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
    from index import tokens
    from index.onnx_export import onnx_folder

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
