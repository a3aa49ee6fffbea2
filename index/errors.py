"""Typed errors. Each message says what went wrong and what to do; the CLI and bot print it."""

from __future__ import annotations


class KhabarError(Exception):
    """Base of every expected failure. `str(error)` is one sentence for a person."""


class IndexNotBuilt(KhabarError):
    def __init__(self, index_dir: object) -> None:
        super().__init__(f'no index in {index_dir} — run "khabar index build" first')


class IndexMismatch(KhabarError):
    """The index on disk was built with another model, chunking or format version."""


class IndexCorrupt(KhabarError):
    """A file of the index is missing, truncated or unreadable."""

    def __init__(self, problem: str) -> None:
        super().__init__(f'{problem} — the index is damaged: run "khabar index build --full"')


class BuildLocked(KhabarError):
    def __init__(self, index_dir: object, holder: str) -> None:
        super().__init__(
            f"another build of {index_dir} is running ({holder}); wait for it to finish"
        )


class IndexWriteFailed(KhabarError):
    """Writing a new index failed (disk full, no permission…); the published one is intact."""

    def __init__(self, index_dir: object, reason: str) -> None:
        super().__init__(
            f"could not write the new index in {index_dir} ({reason}) — the current index is "
            "unchanged and still answers; free some disk space or fix the folder's permissions, "
            'then run "khabar index build" again'
        )


class CorpusMissing(KhabarError):
    def __init__(self, corpus_dir: object) -> None:
        super().__init__(
            f"corpus folder {corpus_dir} does not exist — create it and put articles in it, "
            "or pass --corpus DIR"
        )


class ArticleError(KhabarError):
    """One article file could not be read; the build reports it and goes on."""


class ModelUnavailable(KhabarError):
    """The embedding model could not be loaded."""


class LexiconUnavailable(KhabarError):
    """The lexicon that carries a question's words into other languages cannot be read."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(
            f"the lexicon {path} cannot be used: {problem} — restore it (git checkout -- "
            f'{path}), retrain it with "khabar lexicon train --data ../shared/train", or set '
            "KHABAR_LEXICON=off to search each language's own words only"
        )
