"""Hints that repeat what the user typed: a message says "run khabar index build --full"; a user
who gave `--index-dir /srv/news` needs "khabar index build --full --index-dir /srv/news"."""

from __future__ import annotations

import argparse
import re
import shlex

_COMMAND = re.compile(r'"(khabar [^"]*)"')
_FLAGS = (("corpus", "--corpus"), ("index_dir", "--index-dir"), ("model", "--model"))


def given_flags(args: argparse.Namespace) -> list[str]:
    """The folder and model options the user gave on this command line."""
    flags = []
    for name, flag in _FLAGS:
        value = getattr(args, name, None)
        if value:
            flags += [flag, shlex.quote(str(value))]
    return flags


def repeat_flags(message: str, flags: list[str]) -> str:
    """`message` with `flags` added to every quoted "khabar ..." command in it."""
    if not flags:
        return message
    return _COMMAND.sub(lambda m: f'"{m.group(1)} {" ".join(flags)}"', message)
