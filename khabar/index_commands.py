"""The engine's commands of `khabar`: index build/migrate/status, ask, eval, reader train,
lexicon train, pg."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from index.settings import Settings

from .hints import given_flags, repeat_flags
from .lifetime import retain_until_exit


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    index = sub.add_parser("index", help="build or inspect the index").add_subparsers(
        metavar="ACTION"
    )
    build = index.add_parser("build", parents=[common], help="index new and changed articles")
    build.add_argument("--full", action="store_true", help="rebuild everything from scratch")
    build.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    build.add_argument(
        "--shard",
        metavar="I/N",
        help="with PostgreSQL: index only shard I of N of the articles (N machines build together)",
    )
    build.set_defaults(func=_cmd_build)
    migrate = index.add_parser(
        "migrate",
        parents=[common],
        help="copy the FAISS index folder into PostgreSQL (KHABAR_DATABASE_URL), no re-embedding",
    )
    migrate.set_defaults(func=_cmd_migrate)
    status = index.add_parser("status", parents=[common], help="what the index holds")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=_cmd_status)

    prepare = sub.add_parser(
        "prepare",
        parents=[common],
        help="make the models ready to run offline (rebuilt and exported once; for images)",
    )
    prepare.set_defaults(func=_cmd_prepare)

    ask = sub.add_parser("ask", parents=[common], help="answer a question (no question: a prompt)")
    ask.add_argument("question", nargs="?", help="the question; omit it to type questions")
    ask.add_argument("--json", action="store_true", help="machine-readable hits")
    ask.add_argument("-k", type=int, default=None, metavar="N", help="how many hits")
    ask.set_defaults(func=_cmd_ask)

    evaluate = sub.add_parser("eval", parents=[common], help="measure answers on an evaluation set")
    evaluate.add_argument(
        "folder", metavar="DIR", help="a set: DIR/corpus/ and DIR/questions.jsonl"
    )
    evaluate.add_argument("--json", action="store_true", help="one JSON object")
    evaluate.add_argument("--retriever", choices=["dense", "lexical", "hybrid"])
    evaluate.add_argument(
        "--unanswerable",
        metavar="OTHER_DIR",
        action="append",
        help="also ask OTHER_DIR's questions, which this corpus cannot answer (repeatable)",
    )
    evaluate.add_argument("--reader", choices=["on", "off"], help="the reader (KHABAR_READER)")
    evaluate.add_argument("--limit", type=int, metavar="N", help="only the first N questions")
    evaluate.set_defaults(func=_cmd_eval)

    reader = sub.add_parser("reader", help="Khabar's reader model").add_subparsers(metavar="ACTION")
    train = reader.add_parser(
        "train", parents=[common], help="train the reader (docs/reader.md), resuming if stopped"
    )
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", metavar="DIR", help="folder with spans.jsonl")
    source.add_argument("--pack", metavar="DIR", help="a training pack (khabar reader pack)")
    _recipe_flags(train)
    train.add_argument("--out", metavar="DIR", help="where the weights go (default: shipped)")
    train.add_argument("--work", metavar="DIR", help="checkpoints (default: DATA/reader-train)")
    train.add_argument("--minutes", type=float, help="stop (and write the weights) after this")
    train.add_argument("--trained-from", type=int, default=4, help="first layer trained")
    train.add_argument("--batch-size", type=int, default=16, help="examples a step")
    train.add_argument("--learning-rate", type=float, default=1e-4)
    train.add_argument("--device", choices=["auto", "cpu"], default="auto", help="auto: a GPU")
    train.add_argument(
        "--init", metavar="DIR", help="train on from these weights (e.g. index/reader/weights)"
    )
    train.add_argument(
        "--snapshots",
        action="store_true",
        help="also write the weights of every validated step to WORK/snapshots/step-N",
    )
    train.set_defaults(func=_cmd_reader_train)
    pack = reader.add_parser(
        "pack",
        parents=[common],
        help="write the training examples and the part of e5 they use, to train elsewhere",
    )
    pack.add_argument("--data", metavar="DIR", required=True, help="folder with spans.jsonl")
    pack.add_argument("--out", metavar="DIR", required=True, help="the pack's folder")
    _recipe_flags(pack)
    pack.set_defaults(func=_cmd_reader_pack)

    lexicon = sub.add_parser(
        "lexicon", help="the lexicon that carries questions' words across languages"
    ).add_subparsers(metavar="ACTION")
    learn = lexicon.add_parser(
        "train", parents=[common], help="learn it from parallel sentences (docs/lexicon.md)"
    )
    learn.add_argument(
        "--data", metavar="DIR", required=True, help="folder with parallel/ntrex.jsonl and more"
    )
    learn.add_argument("--out", metavar="FILE", help="where it goes (default: the shipped one)")
    learn.set_defaults(func=_cmd_lexicon_train)

    pg = sub.add_parser("pg", help="a local PostgreSQL with pgvector, to try that backend")
    pg.add_argument("action", choices=["start"], help="start it and keep it running (Ctrl-C stops)")
    pg.add_argument("--data", metavar="DIR", default="data/postgres", help="its data folder")
    pg.add_argument("--port", type=int, default=None, help="TCP port on 127.0.0.1 (default: free)")
    pg.set_defaults(func=_cmd_pg)


def _cmd_build(args: argparse.Namespace, settings: Settings) -> int:
    from index.backends import build_index
    from index.model import Embedder

    from . import report

    progress = None if args.quiet else report.progress_bar
    shard = None
    if args.shard:
        from index.backends.postgres import parse_shard

        shard = parse_shard(args.shard)
    embedder = Embedder.from_settings(settings)
    retain_until_exit(embedder)
    result = build_index(
        settings, full=args.full, progress=progress, shard=shard, embedder=embedder
    )
    print(report.format_build(result, settings))
    return 0


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM stop the command as Ctrl-C does (KeyboardInterrupt), even when it was
    started where SIGINT is ignored (a background job: `nohup … &`)."""
    import signal

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def _cmd_pg(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from index.backends.postgres import LocalPostgres

    _stop_on_signals()
    server = LocalPostgres.start(Path(args.data), args.port)
    try:
        print(
            f"PostgreSQL {server.version} with pgvector runs on 127.0.0.1:{server.port} "
            f"(data in {server.data_dir}); in another terminal:\n"
            f"  export KHABAR_DATABASE_URL={server.url}\n"
            "  khabar index build        (or: khabar index migrate, to copy the folder index)\n"
            "Ctrl-C stops it.",
            flush=True,
        )
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _cmd_prepare(args: argparse.Namespace, settings: Settings) -> int:
    from index.answer import ReaderStage
    from index.model import Embedder

    embedder = Embedder.from_settings(settings)
    embedder.encode_with_prompt(["ready?"], embedder.query_prompt)  # converts and exports
    if settings.reader == "on":
        stage = ReaderStage.from_settings(settings)  # exports the reader's ONNX graph
        stage.warm_up()
    retain_until_exit(embedder)
    print(f"the models are ready in {settings.model_cache}")
    return 0


def _cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from index.backends.postgres import migrate

    result = migrate(settings)
    print(
        f"copied {result.articles} articles and {result.passages} passages from "
        f"{settings.index_dir} into PostgreSQL (index {settings.database_index!r}) in "
        f"{result.seconds:.1f} s; set KHABAR_DATABASE_URL for the bot to answer from it"
    )
    return 0


def _cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from . import report

    status = report.index_status(settings)
    if "problem" in status:
        status["problem"] = repeat_flags(status["problem"], given_flags(args))
    print(json.dumps(status, indent=2) if args.json else report.format_status(status))
    return 0 if status["state"] == "ok" else 1


def _cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from index.answer import Retriever

    from . import report

    retriever = Retriever(settings)
    if args.question is None:
        return _prompt_loop(lambda q: report.format_answer(retriever.answer(q, args.k)))
    answer = retriever.answer(args.question, args.k)
    if args.json:
        shown = {id(h) for h in answer.shown}
        rows = [{**h.as_json(), "shown": id(h) in shown} for h in answer.hits]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        print(report.format_answer(answer))
    return 0


def _recipe_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--news", metavar="DIR", help="plain-text articles for random negatives")
    parser.add_argument("--examples", type=int, default=24_000, help="training examples seen")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--layers", type=int, default=8, help="e5 layers kept (of 12)")
    parser.add_argument("--validation", type=int, default=240, help="held-back examples checked")
    parser.add_argument(
        "--cross-share",
        type=float,
        default=0.0,
        help="share of cross-language and swapped examples (DATA's cross/ and parallel/)",
    )
    parser.add_argument(
        "--near",
        type=float,
        default=0.0,
        help="share of cross-language questions also put against another document's nearest "
        "passage (and half of it against a random --news paragraph): no answer",
    )
    parser.add_argument(
        "--distract",
        type=float,
        default=0.0,
        help="share of number questions also put among the sentences nearest them that state "
        "a number of the same kind (the answer in its own sentence), and against those alone",
    )


def _reader_options(args: argparse.Namespace, settings: Settings) -> Any:
    from pathlib import Path

    from index.reader import WEIGHTS_DIR, Options, Recipe

    pack = getattr(args, "pack", None)
    return Options(
        data=Path(str(args.data or pack)),
        work=Path(args.work) if getattr(args, "work", None) else settings.data_dir / "reader-train",
        out=Path(args.out) if getattr(args, "out", None) else WEIGHTS_DIR,
        news=Path(args.news) if args.news else None,
        examples=args.examples,
        batch_size=getattr(args, "batch_size", 16),
        learning_rate=getattr(args, "learning_rate", 1e-4),
        seed=args.seed,
        minutes=getattr(args, "minutes", None),
        validation_examples=args.validation,
        recipe=Recipe(layers=args.layers, trained_from=getattr(args, "trained_from", 4)),
        device=getattr(args, "device", "auto"),
        pack=Path(pack) if pack else None,
        cross_share=args.cross_share,
        near=args.near,
        distract=args.distract,
        init=Path(args.init) if getattr(args, "init", None) else None,
        snapshots=getattr(args, "snapshots", False),
    )


def _cmd_reader_train(args: argparse.Namespace, settings: Settings) -> int:
    from index.reader import train

    options = _reader_options(args, settings)
    _stop_on_signals()  # a background run stops with its best weights written, as on Ctrl-C
    summary = train(settings.model_cache, options)
    print(json.dumps(summary, ensure_ascii=False))
    print(f"the reader's weights are in {options.out}")
    return 0


def _cmd_lexicon_train(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from index.lexicon import LEXICON_PATH
    from index.lexicon import train as train_lexicon

    out = Path(args.out) if args.out else LEXICON_PATH
    card = train_lexicon(Path(args.data), out)
    print(json.dumps(card, ensure_ascii=False))
    print(f"the lexicon is in {out}")
    return 0


def _cmd_reader_pack(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from index.reader import make_pack

    out = Path(args.out)
    summary = make_pack(settings.model_cache, _reader_options(args, settings), out)
    keys = ("examples", "held", "texts", "vocabulary_rows", "bytes", "recipe", "origin")
    print(json.dumps({k: summary[k] for k in keys}, ensure_ascii=False))
    print(f"the training pack is in {out} ({summary['bytes'] / 2**20:.1f} MiB)")
    return 0


def _cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from bot.messages.render import render_hit, render_not_found
    from index.answer import Answer
    from index.evaluate import evaluate

    def render(answer: Answer) -> str:  # the bot's own reply, timed with the search
        if not answer.found:
            return render_not_found(answer.hits, "en").html
        return render_hit(answer.shown[0], 0, len(answer.shown), "en", "0").html

    kind = args.retriever or settings.retriever
    other = [Path(o) for o in args.unanswerable or []]
    if args.reader:
        settings = settings.with_overrides(reader=args.reader)
    result = evaluate(settings, Path(args.folder), kind, other, render, args.limit)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for key, value in result.items():
            print(f"{key:<22} {value}")
    return 0


def _prompt_loop(answer: Callable[[str], str]) -> int:
    while True:
        try:
            question = input("\n? ")
        except EOFError:
            print()
            return 0
        if not question.strip():
            print("(type a question; Ctrl-D or :quit leaves)")
            continue
        if question.strip() in (":quit", ":q"):
            return 0
        print(answer(question))
