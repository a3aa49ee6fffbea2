"""Tokenizers for the ONNX runtime: `tokenizers`' own, or a sentencepiece copy of it.

Both give a text's token ids and character offsets, the same way; `load` picks one.

A sentencepiece copy of a Unigram tokenizer (XLM-RoBERTa's, e5's) is there for speed. The
`tokenizers` library takes a second to load e5's 250,002-piece `tokenizer.json` and holds
Python's lock all that time, so nothing else in the process moves (adding one article waited
on it). sentencepiece loads the same vocabulary in about half the time without holding the
lock. Built from the JSON's own pieces, scores and normalisation table, it splits text the
same way: of 6,824 texts (the evaluation sets' questions and articles, 1,500 bbc-news
articles), all but 5 get the same ids (those 5 have two splits of exactly the same score),
and the same character offsets (a combining accent is counted into its letter's token, which
`tokenizers` leaves out). Each copy is checked against the original before it is used.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import tempfile
import threading
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MODEL_FILE = "tokenizer.model"
WORD_MARK = "\u2581"  # sentencepiece's "▁", which starts a word
CHECK_TEXTS = (
    "When was the Organization of Turkic States founded?",
    "  Founded in 2009   on the ancient land of Nakhchivan,\tthe Organization (OTS) grew.",
    "Организация тюркских государств была основана в 2009 году в Нахчыване.",
    "Türk Devletleri Teşkilatı 2009 yılında Nahçıvan'da kuruldu.",
    "Түркі мемлекеттері ұйымы қашан құрылды? Ｆｕｌｌ width ① ﬁ",
    "Türk Dövlətləri Təşkilatı 2009-cu ildə Naxçıvanda yaradılıb.",
)
Token = tuple[list[int], list[tuple[int, int]]]  # ids, character offsets


def convertible(spec: dict[str, Any]) -> bool:
    """Whether a `tokenizer.json` is a sentencepiece Unigram model wrapped as XLM-R's is: the
    precompiled normalisation table (and runs of spaces made one), words split at spaces and
    marked by Metaspace, `<s> text </s>` — as `transformers` saves XLM-R's (ONNX export)."""
    model = spec.get("model") or {}
    norms, pres = _steps(spec.get("normalizer")), _steps(spec.get("pre_tokenizer"))
    post = spec.get("post_processor") or {}
    single = [next(iter(item)) for item in post.get("single", [])]
    metaspace = pres[-1] if pres else {}
    return (
        model.get("type") == "Unigram"
        and not model.get("byte_fallback")
        and [n.get("type") for n in norms] in (["Precompiled"], ["Precompiled", "Replace"])
        and all(n.get("content") == " " for n in norms[1:])
        and [p.get("type") for p in pres] == ["WhitespaceSplit", "Metaspace"]
        and metaspace.get("prepend_scheme", "always") == "always"
        and metaspace.get("add_prefix_space", True)
        and post.get("type") == "TemplateProcessing"
        and single == ["SpecialToken", "Sequence", "SpecialToken"]
    )


def _steps(part: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not part:
        return []
    inner = part.get("normalizers") or part.get("pretokenizers")
    return list(inner) if part.get("type") == "Sequence" and inner else [part]


def to_sentencepiece(spec: dict[str, Any]) -> bytes:
    """The serialised sentencepiece model of a `convertible` tokenizer.json, same ids."""
    from sentencepiece import sentencepiece_model_pb2

    pb: Any = sentencepiece_model_pb2  # generated protobuf classes, untyped
    model = pb.ModelProto()
    unk = int(spec["model"]["unk_id"])
    special = {t["content"] for t in spec.get("added_tokens", []) if t.get("special")}
    kind = pb.ModelProto.SentencePiece
    for i, (text, score) in enumerate(spec["model"]["vocab"]):
        piece = model.pieces.add()
        piece.piece, piece.score = text, float(score)
        if i == unk:
            piece.type = kind.UNKNOWN
        elif text in special:
            piece.type = kind.CONTROL
        else:
            piece.type = kind.NORMAL
    model.trainer_spec.model_type = pb.TrainerSpec.UNIGRAM
    model.trainer_spec.unk_id = unk
    model.trainer_spec.bos_id = model.trainer_spec.eos_id = model.trainer_spec.pad_id = -1
    norm = model.normalizer_spec
    norm.name = "precompiled"
    table = _steps(spec["normalizer"])[0]["precompiled_charsmap"]
    norm.precompiled_charsmap = base64.b64decode(table)
    norm.add_dummy_prefix = norm.remove_extra_whitespaces = norm.escape_whitespaces = True
    return bytes(model.SerializeToString())


class SpmTokenizer:
    """Ids and character offsets as `tokenizers` gives them for the same vocabulary: for the
    model with `<s>` and `</s>` around at most `max_length` tokens, or all of a text's tokens."""

    def __init__(self, path: Path, spec: dict[str, Any], max_length: int) -> None:
        import sentencepiece

        self._sp = sentencepiece.SentencePieceProcessor(model_file=str(path))
        template = spec["post_processor"]
        first, last = (template["single"][i]["SpecialToken"]["id"] for i in (0, 2))
        self._bos = int(template["special_tokens"][first]["ids"][0])
        self._eos = int(template["special_tokens"][last]["ids"][0])
        self.max_length = max_length

    def encode(self, texts: Sequence[str], for_model: bool, offsets: bool = True) -> list[Token]:
        keep = max(0, self.max_length - 2)
        if not offsets:  # ids alone are several times faster
            pieces: list[list[int]] = self._sp.encode(list(texts))
            if not for_model:
                return [(ids, []) for ids in pieces]
            return [([self._bos, *ids[:keep], self._eos], []) for ids in pieces]
        out: list[Token] = []
        for text, mapped in zip(texts, self._sp.encode_as_offset_mapping(list(texts)), strict=True):
            ids: list[int] = list(mapped["ids"])
            spans = [
                (begin, end)
                if begin < end and not _invisible(text[begin])
                else _trim(text, piece, begin, end)
                for piece, (begin, end) in zip(mapped["pieces"], mapped["offsets"], strict=True)
            ]
            if for_model:
                ids = [self._bos, *ids[:keep], self._eos]
                spans = [(0, 0), *spans[:keep], (0, 0)]
            out.append((ids, spans))
        return out


class HfTokenizer:
    """`tokenizers`' own, from tokenizer.json: one instance (e5's takes ~280 MiB), switched
    between truncated (for the model) and whole under a lock."""

    def __init__(self, path: Path, max_length: int) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(path))
        self._tokenizer.no_padding()
        self._lock = threading.Lock()
        self.max_length = max_length

    def encode(self, texts: Sequence[str], for_model: bool, offsets: bool = True) -> list[Token]:
        with self._lock:
            if for_model:
                self._tokenizer.enable_truncation(self.max_length)
            else:
                self._tokenizer.no_truncation()
            encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=for_model)
        return [
            (list(e.ids), [(int(a), int(b)) for a, b in e.offsets] if offsets else [])
            for e in encodings
        ]


def _invisible(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) == "Cf"  # zero-width marks


def _trim(text: str, piece: str, begin: int, end: int) -> tuple[int, int]:
    """sentencepiece counts the spaces before a word into its first piece, `tokenizers` does
    not; a piece that is only the word mark, `tokenizers` puts on the word's first letter."""
    while begin < end and _invisible(text[begin]):
        begin += 1
    if begin == end and piece == WORD_MARK:
        return begin, min(begin + 1, len(text))
    return begin, end


def load(folder: Path, max_length: int) -> SpmTokenizer | HfTokenizer:
    """The folder's tokenizer: its sentencepiece copy where it has one or one can be made
    (once, checked against the original), else tokenizer.json through `tokenizers`."""
    copy: SpmTokenizer | None = None
    try:
        copy = _sentencepiece_copy(folder, max_length)
    except (ImportError, OSError, ValueError, KeyError) as exc:
        log.info("reading %s with `tokenizers` (%s)", folder / "tokenizer.json", exc)
    return copy or HfTokenizer(folder / "tokenizer.json", max_length)


def _sentencepiece_copy(folder: Path, max_length: int) -> SpmTokenizer | None:
    """The copy, made on first use; the verdict (the copy's settings, or that there is none)
    is kept in `tokenizer.model.json`, so a tokenizer that cannot be copied is tried once."""
    import sentencepiece  # noqa: F401 - ImportError: no copy

    path, meta = folder / MODEL_FILE, folder / (MODEL_FILE + ".json")
    kept = _verdict(meta)
    if kept is not None and (path.is_file() or not kept.get("use")):
        return SpmTokenizer(path, kept, max_length) if kept.get("use") else None
    spec_file = folder / "tokenizer.json"
    spec: dict[str, Any] = json.loads(spec_file.read_text(encoding="utf-8"))
    verdict: dict[str, Any] = {"use": False}
    if convertible(spec):
        settings = {"use": True, "post_processor": spec["post_processor"]}
        with tempfile.TemporaryDirectory(dir=folder) as staging:
            trial = Path(staging) / MODEL_FILE
            trial.write_bytes(to_sentencepiece(spec))
            problem = _differs(SpmTokenizer(trial, settings, max_length), spec_file, max_length)
            if problem:
                log.warning("not using a sentencepiece copy of %s: %s", spec_file, problem)
            else:
                os.replace(trial, path)
                verdict = settings
                log.info("made %s, a faster-loading copy of its tokenizer.json", path)
    with tempfile.NamedTemporaryFile("w", dir=folder, suffix=".tmp", delete=False) as out:
        json.dump(verdict, out)
    os.replace(out.name, meta)  # whole, even with another process doing the same
    return SpmTokenizer(path, verdict, max_length) if verdict["use"] else None


def _verdict(meta: Path) -> dict[str, Any] | None:
    """What an earlier run decided (None: nothing yet, or a damaged file: judge again)."""
    try:
        kept = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return kept if isinstance(kept, dict) else None


def _differs(copy: SpmTokenizer, spec_file: Path, max_length: int) -> str | None:
    original = HfTokenizer(spec_file, max_length)
    for for_model in (True, False):
        for text, mine, theirs in zip(
            CHECK_TEXTS,
            copy.encode(CHECK_TEXTS, for_model),
            original.encode(CHECK_TEXTS, for_model),
            strict=True,
        ):
            if mine != theirs:
                return f"it splits {text!r} differently"
    return None
