"""The `khabar` command: build and inspect the index, ask questions, run the bot.

The library raises typed `KhabarError`s; this module turns them into one sentence on stderr and a
non-zero exit status. Nothing here does real work beyond parsing arguments and printing.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from pydantic import ValidationError
from pydantic_settings import SettingsError

from index.errors import KhabarError
from index.redact import redact_secrets, scrub
from index.settings import Settings

from . import bot_commands, feed_commands, index_commands
from .hints import given_flags, repeat_flags
from .lifetime import mark_exiting_fast

EXIT_ERROR = 2


def entry() -> NoReturn:
    """The `khabar` program: `main`, then an exit that skips tearing the heap down. By then
    every file is written and closed and the bot has shut down; what is left is freeing the
    model (0.3-0.4 s for e5: its tokenizer and ONNX session), a tenth of adding one article;
    commands keep it alive with `retain_until_exit` so it is not freed on their return."""
    mark_exiting_fast()
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "httpcore", "sentence_transformers", "transformers", "trafilatura"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not hasattr(args, "func"):
        parser.print_help()
        return EXIT_ERROR
    try:
        settings = Settings().with_overrides(
            corpus_dir=getattr(args, "corpus", None),
            index_dir=getattr(args, "index_dir", None),
            model=getattr(args, "model", None),
        )
        redact_secrets(settings.secrets())
        result: int = args.func(args, settings)
        return result
    except ValidationError as exc:
        print(f"khabar: {settings_problem(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KhabarError as exc:
        print(f"khabar: {scrub(repeat_flags(str(exc), given_flags(args)))}", file=sys.stderr)
        return EXIT_ERROR
    except SettingsError as exc:
        print(f"khabar: {exc} (see .env.example)", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: one line (and the traceback with -v), secrets scrubbed
        print(
            f"khabar: unexpected {type(exc).__name__}: {scrub(str(exc))[:500]} "
            "(run again with -v for the details, and please report it)",
            file=sys.stderr,
        )
        if getattr(args, "verbose", False):
            logging.getLogger("khabar").error("unexpected error", exc_info=exc)
        return 1


def settings_problem(error: ValidationError) -> str:
    """Which settings are wrong and why, without echoing their values (they may be secrets)."""
    problems = []
    for item in error.errors():
        field = "_".join(str(part) for part in item["loc"] if not isinstance(part, int))
        problems.append(f"KHABAR_{field.upper()}: {item['msg']}")
    return "invalid setting " + "; ".join(problems) + " (see .env.example)"


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--corpus", metavar="DIR", help="the articles folder (KHABAR_CORPUS_DIR)")
    common.add_argument("--index-dir", metavar="DIR", help="the index folder (KHABAR_INDEX_DIR)")
    common.add_argument("--model", help="model name or path (KHABAR_MODEL)")
    common.add_argument("-v", "--verbose", action="store_true", help="log progress details")

    parser = argparse.ArgumentParser(prog="khabar", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(metavar="COMMAND")

    index_commands.add_commands(sub, common)
    bot_commands.add_commands(sub, common)  # the bot's commands: bot, run, testserver, chat
    feed_commands.add_commands(sub, common)
    return parser
