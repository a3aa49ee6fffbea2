"""Shared fixtures: real model (loaded once), temporary corpora and indexes."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from index.embedder import Embedder
from index.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real default model, loaded once for the whole session."""
    model = Embedder("all-MiniLM-L6-v2")
    model.dimension  # noqa: B018 - load now, not inside the first timed test
    return model


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "corpus_dir": tmp_path / "corpus",
            "index_dir": tmp_path / "index",
            "data_dir": tmp_path / "data",
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[arg-type]

    return make


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    return folder


@pytest.fixture
def shipped_corpus(tmp_path: Path) -> Path:
    """A copy of the project's own corpus/ (the seed article)."""
    folder = tmp_path / "corpus"
    shutil.copytree(SHIPPED_CORPUS, folder)
    return folder


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path
