"""PostgreSQL + pgvector beyond the shared contract: shards, transactions, kills, migration,
replicas and errors — against the real server from the pgserver wheel, nothing mocked."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest

from index.answer.retriever import Retriever
from index.backends.choose import build_index
from index.backends.postgres.builder import parse_shard, shard_of
from index.backends.postgres.local import LocalPostgres, free_port
from index.backends.postgres.migrate import migrate
from index.errors import IndexNotBuilt
from tests.botharness import running_bot
from tests.conftest import ROOT, TEST_CHUNK_TOKENS, TEST_MODEL, write
from tests.test_bot import ANN, PRIVATE
from tests.test_build import article, fill
from tests.test_processes import khabar as run_khabar
from tests.waiting import wait_until

CITIES = ["Baku", "Aktau", "Shymkent", "Ganja", "Turkestan", "Sumgait", "Atyrau", "Lankaran"]


GOODS = "melons carpets saffron copper horses silk tea cotton caviar pomegranates wool oil salt"
GOODS_LIST = GOODS.split()  # 13 goods, 8 cities: the first 104 articles are distinct pairs


def topic(i: int) -> str:
    return f"{GOODS_LIST[i % len(GOODS_LIST)]} trade in {CITIES[i % len(CITIES)]}"


def many(corpus: Path, n: int, words: int = 20) -> None:
    for i in range(n):
        body = " ".join(f"The {topic(i)} grew by {i * 7 + j} tonnes." for j in range(words))
        write(corpus, f"news/{i:03d}.md", article(topic(i).capitalize(), body))


def pg_settings(make_settings, postgres, name: str, **more):  # type: ignore[no-untyped-def]
    return make_settings(database_url=postgres.url, database_index=name, **more)


def khabar(settings, *args: str, **more: str) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    """The real `khabar` command in a subprocess, configured through the environment."""
    env = dict(
        os.environ,
        KHABAR_DATABASE_URL=settings.database_url.get_secret_value(),
        KHABAR_DATABASE_INDEX=settings.database_index,
        KHABAR_CORPUS_DIR=str(settings.corpus_dir),
        KHABAR_DATA_DIR=str(settings.data_dir),
        KHABAR_MODEL=TEST_MODEL,
        KHABAR_CHUNK_TOKENS=str(TEST_CHUNK_TOKENS),
        **more,
    )
    return run_khabar(*args, env=env, cwd=ROOT)


def test_shards_are_stable_and_balanced() -> None:
    assert parse_shard("1/4") == (1, 4)
    for bad in ("4/4", "-1/2", "1", "a/b", "1/0"):
        with pytest.raises(Exception, match="--shard"):
            parse_shard(bad)
    owners = [shard_of(f"news/{i:03d}.md", 3) for i in range(300)]
    assert owners == [shard_of(f"news/{i:03d}.md", 3) for i in range(300)]
    assert all(80 <= owners.count(s) <= 120 for s in range(3))


def test_two_shards_build_one_index_together(corpus, make_settings, postgres, embedder) -> None:  # type: ignore[no-untyped-def]
    many(corpus, 24)
    settings = pg_settings(make_settings, postgres, "shards")
    first = build_index(settings, embedder=embedder, shard=(0, 2))
    assert not first.published and "waiting for 1/2" in first.note
    with pytest.raises(IndexNotBuilt):  # half an index is never published
        Retriever(settings, embedder)
    second = build_index(settings, embedder=embedder, shard=(1, 2))
    assert second.published and second.articles == 24
    assert first.added + second.added == 24 and 0 < first.added < 24
    retriever = Retriever(settings, embedder)
    for i in (0, 5, 13, 22):
        hits = retriever.search(f"How did the {topic(i)} grow?")
        assert hits[0].article_id == f"news/{i:03d}.md"
    # Incremental and sharded: a change is embedded only by the shard that owns the article.
    write(corpus, "news/005.md", article("Market report 5", "Camel wool prices doubled in Aktau."))
    owner = shard_of("news/005.md", 2)
    other = build_index(settings, embedder=embedder, shard=(1 - owner, 2))
    mine = build_index(settings, embedder=embedder, shard=(owner, 2))
    assert (other.embedded, mine.changed, mine.embedded) == (0, 1, 1)
    assert "Camel wool" in retriever.search("What happened to camel wool prices?")[0].passage


def test_shards_in_parallel_processes(corpus, make_settings, postgres) -> None:  # type: ignore[no-untyped-def]
    many(corpus, 30)
    settings = pg_settings(make_settings, postgres, "parallel")
    procs = [khabar(settings, "index", "build", "-q", "--shard", f"{i}/2") for i in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    assert sum("waiting for" in out for out, _ in outputs) <= 1
    with psycopg.connect(postgres.url) as conn:
        schema = conn.execute(
            "SELECT current FROM khabar_indexes WHERE name = 'parallel'"
        ).fetchone()[0]
        per_article = conn.execute(
            f"SELECT count(DISTINCT article_id), count(*), count(DISTINCT (article_id, ord)) "
            f'FROM "{schema}".passages'
        ).fetchone()
    assert per_article[0] == 30 and per_article[1] == per_article[2]  # each passage once


def test_readers_never_see_half_an_article(corpus, make_settings, postgres, embedder) -> None:  # type: ignore[no-untyped-def]
    fill(corpus)
    settings = pg_settings(make_settings, postgres, "atomic")
    build_index(settings, embedder=embedder)
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        schema = conn.execute(
            "SELECT current FROM khabar_indexes WHERE name = 'atomic'"
        ).fetchone()[0]
    seen: set[tuple[str, int]] = set()
    stop = threading.Event()

    def watch() -> None:
        with psycopg.connect(postgres.url, autocommit=True) as conn:
            while not stop.is_set():
                row = conn.execute(
                    f'SELECT a.hash, (SELECT count(*) FROM "{schema}".passages p '
                    f'WHERE p.article_id = a.id) FROM "{schema}".articles a '
                    "WHERE a.id = 'wheat.md'"
                ).fetchone()
                seen.add((row[0], row[1]) if row else ("missing", 0))

    watcher = threading.Thread(target=watch)
    watcher.start()
    versions = {}
    try:
        for n in (1, 6, 2, 9, 3):
            body = "\n\n".join(
                f"Paragraph {i}: " + "grain and wheat exports " * 30 for i in range(n)
            )
            write(corpus, "wheat.md", article(f"Wheat, version {n}", body))
            report = build_index(settings, embedder=embedder)
            with psycopg.connect(postgres.url) as conn:
                versions[
                    conn.execute(
                        f"SELECT hash FROM \"{schema}\".articles WHERE id = 'wheat.md'"
                    ).fetchone()[0]
                ] = report.passages
    finally:
        stop.set()
        watcher.join()
    hashes = {h for h, _ in seen}
    assert "missing" not in hashes and len(hashes) >= 3
    counts: dict[str, set[int]] = {}
    for digest, count in seen:
        counts.setdefault(digest, set()).add(count)
    assert all(len(c) == 1 for c in counts.values()), counts  # one passage count per version


def test_a_killed_full_build_leaves_the_published_index(
    corpus, make_settings, postgres, embedder
) -> None:  # type: ignore[no-untyped-def]
    fill(corpus)
    settings = pg_settings(make_settings, postgres, "killed")
    build_index(settings, embedder=embedder)
    many(corpus, 100, words=30)  # about 300 passages, written 128 at a time
    proc = khabar(settings, "index", "build", "--full", "-q", KHABAR_EMBED_BATCH_SIZE="4")
    with psycopg.connect(postgres.url, autocommit=True) as conn:

        def written() -> bool:  # part of the new schema, or the build ended (asserted below)
            pending = conn.execute(
                "SELECT pending FROM khabar_indexes WHERE name = 'killed'"
            ).fetchone()[0]
            if proc.poll() is not None or not pending:
                return proc.poll() is not None
            return bool(conn.execute(f'SELECT count(*) FROM "{pending}".articles').fetchone()[0])

        wait_until(written, timeout=120, what="part of the new schema written")
        assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    retriever = Retriever(settings, embedder)
    assert retriever.info().articles == 3  # the published index, untouched
    assert "eighteen hours" in retriever.search("How long is the ferry crossing?")[0].excerpt
    report = build_index(settings, embedder=embedder, full=True)  # resumes the pending schema
    assert report.published and report.articles == 103
    assert report.embedded < report.passages  # the killed run's articles were kept
    assert retriever.refresh() and retriever.info().articles == 103


def test_migrate_copies_the_folder_index_without_embedding(
    shipped_corpus, make_settings, postgres, embedder
) -> None:  # type: ignore[no-untyped-def]
    fill(shipped_corpus)
    folder = make_settings(corpus_dir=shipped_corpus)
    build_index(folder, embedder=embedder)
    pg = pg_settings(make_settings, postgres, "migrated", corpus_dir=shipped_corpus)
    result = migrate(pg)
    one, other = Retriever(folder, embedder), Retriever(pg, embedder)
    assert (result.articles, result.passages) == (one.info().articles, one.info().passages)
    for question in (
        "How long is the ferry crossing?",
        "Когда основана Организация тюркских государств?",
    ):
        a, b = one.answer(question), other.answer(question)
        assert [(h.article_id, h.excerpt) for h in a.hits] == [
            (h.article_id, h.excerpt) for h in b.hits
        ]
    # The copy is a normal index: the next build finds nothing to embed.
    again = build_index(pg, embedder=embedder)
    assert again.embedded == 0 and not again.published


def test_approximate_search_with_hnsw(corpus, make_settings, postgres, embedder) -> None:  # type: ignore[no-untyped-def]
    many(corpus, 40)
    fill(corpus)
    settings = pg_settings(make_settings, postgres, "hnsw", ann_min_vectors=10)
    build_index(settings, embedder=embedder)
    retriever = Retriever(settings, embedder)
    assert retriever._snapshot.vectors.approximate  # type: ignore[attr-defined]
    with psycopg.connect(postgres.url) as conn:
        schema = conn.execute("SELECT current FROM khabar_indexes WHERE name = 'hnsw'").fetchone()[
            0
        ]
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                f'EXPLAIN SELECT id FROM "{schema}".passages ORDER BY embedding <#> '
                f'(SELECT embedding FROM "{schema}".passages LIMIT 1) LIMIT 5'
            ).fetchall()
        )
    assert "passages_embedding" in plan
    assert "eighteen hours" in retriever.search("How long is the ferry crossing?")[0].excerpt


def test_unreachable_database_is_a_clear_error_without_the_password(corpus, make_settings) -> None:  # type: ignore[no-untyped-def]
    fill(corpus)
    port = free_port()
    settings = make_settings(
        database_url=f"postgresql://editor:sekret-pass-42@127.0.0.1:{port}/news",
        database_index="main",
    )
    for args in (["index", "build", "-q"], ["ask", "ferry?"], ["index", "status"]):
        proc = khabar(settings, *args)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, (out, err)
        assert f"127.0.0.1:{port}/news" in err and "KHABAR_DATABASE_URL" in err
        assert "sekret-pass-42" not in out + err and "Traceback" not in err


def caught_up(primary: LocalPostgres, replica: LocalPostgres, timeout: float = 10.0) -> float:
    """Wait until the replica has replayed everything the primary has written; the seconds
    it took (streaming replication is asynchronous: usually milliseconds)."""
    started = time.monotonic()
    with psycopg.connect(primary.url, autocommit=True) as conn:
        # The insert position: with asynchronous commit, the last commits may not be written yet.
        target = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
    with psycopg.connect(replica.url, autocommit=True) as conn:
        wait_until(
            lambda: conn.execute("SELECT pg_last_wal_replay_lsn() >= %s", (target,)).fetchone()[0],
            timeout=timeout,
            what="the replica to catch up",
        )
    return time.monotonic() - started


async def test_a_bot_reading_a_replica_answers_what_the_primary_indexed(
    corpus, make_settings, postgres, embedder, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    fill(corpus)
    folder = Path(os.path.dirname(postgres.data_dir)) / f"replica-{os.getpid()}"
    replica = LocalPostgres.start(folder, replica_of=postgres, durable=False)
    try:
        settings = pg_settings(make_settings, postgres, "replicated", database_read_url=replica.url)
        build_index(settings, embedder=embedder)
        caught_up(postgres, replica)
        retriever = Retriever(settings, embedder)
        assert str(replica.port) in retriever.info().generation
        async with running_bot(settings, retriever) as tg:
            [before] = await tg.ask(PRIVATE, ANN, "How long is the ferry crossing?")
            assert "eighteen hours" in before["text"]
            write(corpus, "tea.md", article("Tea", "Azerbaijan grows black tea in Lankaran."))
            report = await asyncio.to_thread(build_index, settings, embedder=embedder)
            assert report.added == 1
            lag = await asyncio.to_thread(caught_up, postgres, replica)
            assert lag < 5.0
            [after] = await tg.ask(PRIVATE, ANN, "Where does Azerbaijan grow black tea?")
            assert "Lankaran" in after["text"]
        with (
            psycopg.connect(replica.url) as conn,  # the replica refuses writes
            pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
        ):
            conn.execute("CREATE TABLE nope (x int)")
    finally:
        replica.stop()


def test_pg_start_runs_a_local_server_until_interrupted(tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = Path(tempfile.mkdtemp(prefix="khabar-pgcli-"))
    os.chmod(folder, 0o711)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "khabar",
            "pg",
            "start",
            "--data",
            str(folder / "data"),
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert f"127.0.0.1:{port}" in line, line + proc.stderr.read()  # type: ignore[union-attr]
        url = f"postgresql://khabar@127.0.0.1:{port}/khabar"
        with psycopg.connect(url) as conn:
            assert conn.execute(
                "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
            ).fetchone()
        proc.send_signal(signal.SIGINT)
        try:  # a durable server's shutdown checkpoint fsyncs: slow when the disk is busy
            code = proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            log = (folder / "data" / "server.log").read_text(errors="replace")[-2000:]
            raise AssertionError(f"still running after 120 s; server log: {log}") from None
        assert code == 0, proc.stderr.read()  # type: ignore[union-attr]
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(url, connect_timeout=2)
    finally:
        proc.kill()
        shutil.rmtree(folder, ignore_errors=True)


def test_builds_that_would_collide_are_refused(corpus, make_settings, postgres, embedder) -> None:  # type: ignore[no-untyped-def]
    from index.backends.postgres.builder import ShardBuild
    from index.backends.postgres.store import connect
    from index.errors import BuildLocked

    fill(corpus)
    settings = pg_settings(make_settings, postgres, "locks")
    holder = connect(postgres.url)
    try:
        ShardBuild(settings, holder, "locks", (0, 2), embedder, None)._lock()  # shard 0/2 runs
        with pytest.raises(BuildLocked, match="another build"):
            build_index(settings, embedder=embedder)  # a plain build would write the same rows
        with pytest.raises(BuildLocked):
            build_index(settings, embedder=embedder, shard=(0, 2))  # the same shard twice
        report = build_index(settings, embedder=embedder, shard=(1, 2))  # its sibling may run
        assert report.added >= 0 and not report.published
    finally:
        holder.close()  # the session ends: its locks go with it
    assert build_index(settings, embedder=embedder, shard=(0, 2)).published


def test_database_passwords_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from index.redact import MASK, redact_secrets
    from index.settings import Settings

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url="postgresql://editor:primary-Pa55word@db.example.com:5432/news",
        database_read_url="postgresql://reader:replica-Pa55word@replica.example.com/news",
    )
    assert "primary-Pa55word" not in repr(settings) and "replica-Pa55word" not in str(settings)
    redact_secrets(settings.secrets())
    caplog.set_level(logging.INFO)
    logging.getLogger("khabar.test").info(
        "connecting to %s and %s", "postgresql://editor:primary-Pa55word@db", "replica-Pa55word"
    )
    assert "Pa55word" not in caplog.text and MASK in caplog.text
