"""The ONNX runtime's tokenizers: e5's sentencepiece copy splits text as tokenizer.json does
(ids and character offsets), is made once and reused; other tokenizers stay as they are."""

from __future__ import annotations

import copy
import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from index.model import tokens
from index.model.e5convert import _sources
from index.model.embedder import Embedder

TEXTS = [
    "When was the Organization of Turkic States founded?",
    "  Leading, trailing   and\trepeated\n\nspaces  ",
    "Организация тюркских государств была основана в 2009 году в Нахчыване.",
    "Түркі мемлекеттері ұйымы қашан құрылды? Қазақстан мен Әзірбайжан.",
    "Türk Dövlətləri Təşkilatı 2009-cu ildə Naxçıvanda yaradılıb; İstanbul'da ğüşöç.",
    "Ｆｕｌｌ-width ①②, ligatures ﬁ ﬂ, zero\u200bwidth, e\u0301 combining, emoji 🇦🇿 🙂",
    "<b>HTML</b> &amp; URLs https://trend.az/a?b=1 and numbers 1,234.56 — «quotes»",
    "",
    "word " * 700,  # longer than the model reads
]


@pytest.fixture(scope="module")
def e5_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """e5's tokenizer.json as the ONNX export writes it (`transformers` saves it)."""
    from transformers import AutoTokenizer

    source, folder = tmp_path_factory.mktemp("e5-source"), tmp_path_factory.mktemp("e5-tokenizer")
    shutil.copy(_sources()[1], source / "tokenizer.json")
    config = {"tokenizer_class": "XLMRobertaTokenizerFast", "model_max_length": 512}
    (source / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    AutoTokenizer.from_pretrained(str(source)).save_pretrained(str(folder))
    assert tokens.convertible(json.loads((folder / "tokenizer.json").read_text("utf-8")))
    return folder


def test_the_copy_splits_like_tokenizer_json(e5_folder: Path) -> None:
    copy = tokens.load(e5_folder, 512)
    assert isinstance(copy, tokens.SpmTokenizer)
    original = tokens.HfTokenizer(e5_folder / "tokenizer.json", 512)
    for for_model in (True, False):
        ours, theirs = copy.encode(TEXTS, for_model), original.encode(TEXTS, for_model)
        for text, (ids, spans), (want_ids, want_spans) in zip(TEXTS, ours, theirs, strict=True):
            assert ids == want_ids, text[:40]
            for (a, b), (c, d) in zip(spans, want_spans, strict=True):
                # One known difference: a letter and a combining accent after it (e + ́ ,
                # made one letter by NFKC) — `tokenizers` spans the letter, the copy both.
                assert (a, b) == (c, d) or (a == c and b == d + 1 and "\u0301" in text[c:b])
        ids_only = copy.encode(TEXTS, for_model, offsets=False)
        assert [ids for ids, _ in ids_only] == [ids for ids, _ in theirs]
    assert len(copy.encode(TEXTS[-1:], True)[0][0]) == 512  # truncated, with <s> and </s>


def test_the_copy_is_made_once_and_reused(e5_folder: Path) -> None:
    tokens.load(e5_folder, 512)
    made = (e5_folder / tokens.MODEL_FILE).stat().st_mtime_ns
    started = time.perf_counter()
    again = tokens.load(e5_folder, 512)
    assert isinstance(again, tokens.SpmTokenizer)
    assert (e5_folder / tokens.MODEL_FILE).stat().st_mtime_ns == made
    assert time.perf_counter() - started < 1.5  # no JSON, no check: loading only


def test_a_damaged_or_missing_copy_is_made_again(e5_folder: Path, tmp_path: Path) -> None:
    folder = tmp_path / "tok"
    shutil.copytree(e5_folder, folder)
    tokens.load(folder, 512)
    (folder / (tokens.MODEL_FILE + ".json")).write_text('{"use": tr', encoding="utf-8")
    assert isinstance(tokens.load(folder, 512), tokens.SpmTokenizer)
    (folder / tokens.MODEL_FILE).unlink()
    assert isinstance(tokens.load(folder, 512), tokens.SpmTokenizer)
    assert (folder / tokens.MODEL_FILE).is_file()
    assert not list(folder.glob("*.tmp"))


def test_loading_the_copy_lets_other_threads_run(e5_folder: Path) -> None:
    """`tokenizers` holds Python's lock for the whole second it takes to load e5's
    tokenizer.json; the copy does not, so a build's other work goes on meanwhile."""
    tokens.load(e5_folder, 512)
    counted = [0]
    done = threading.Event()

    def count() -> None:
        while not done.is_set():
            counted[0] += 1

    counter = threading.Thread(target=count)
    counter.start()
    try:
        started = time.perf_counter()
        tokens.load(e5_folder, 512)
        loading = time.perf_counter() - started
        during = counted[0]
        time.sleep(loading)
        alone = counted[0] - during
    finally:
        done.set()
        counter.join()
    assert during > 0.3 * alone, (during, alone)


def test_other_tokenizers_stay_on_tokenizers_and_are_judged_once(
    embedder: Embedder, models_dir: Path
) -> None:
    folder = next(p for p in (models_dir / "onnx").iterdir() if p.name.startswith("all-MiniLM"))
    assert isinstance(tokens.load(folder, 256), tokens.HfTokenizer)  # WordPiece: no copy
    assert json.loads((folder / (tokens.MODEL_FILE + ".json")).read_text()) == {"use": False}
    assert not (folder / tokens.MODEL_FILE).exists()


def test_a_copy_that_splits_differently_is_not_used(
    tmp_path: Path,
    e5_folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    shutil.copy(e5_folder / "tokenizer.json", tmp_path / "tokenizer.json")
    convert, calls = tokens.to_sentencepiece, []

    def skewed(spec: dict[str, Any]) -> bytes:  # a copy that scores one piece differently
        calls.append(1)
        spec = copy.deepcopy(spec)
        vocab = spec["model"]["vocab"]
        vocab[next(i for i, (text, _) in enumerate(vocab) if text == "▁Organization")][1] = -99.0
        return convert(spec)

    monkeypatch.setattr(tokens, "to_sentencepiece", skewed)
    assert isinstance(tokens.load(tmp_path, 512), tokens.HfTokenizer)
    assert "splits 'When was the Organization" in caplog.text
    assert not (tmp_path / tokens.MODEL_FILE).exists()
    assert isinstance(tokens.load(tmp_path, 512), tokens.HfTokenizer)
    assert calls == [1]  # judged once
