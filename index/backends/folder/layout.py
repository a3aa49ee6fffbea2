"""Where an index lives on disk, and how a new one replaces the old atomically.

    INDEX_DIR/current            symlink → generations/<name>   (the published index)
    INDEX_DIR/generations/<name>/manifest.json, vectors.faiss, khabar.sqlite
    INDEX_DIR/build.lock         held (flock) while a build runs

A build writes a whole new generation, fsyncs it, then renames a fresh symlink over `current`:
readers see the old index or the new one, never a mix. A build killed half-way leaves only an
unpublished folder, removed by the next build.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from ...errors import BuildLocked

CURRENT = "current"
GENERATIONS = "generations"
LOCK = "build.lock"
KEEP_PREVIOUS = 1  # readers that resolved `current` just before a switch can still open it


def current_generation(index_dir: Path) -> Path | None:
    link = index_dir / CURRENT
    try:
        target = os.readlink(link)
    except (FileNotFoundError, OSError):
        return None
    path = (index_dir / target) if not os.path.isabs(target) else Path(target)
    return path if path.is_dir() else None


def new_generation(index_dir: Path) -> Path:
    folder = (
        index_dir
        / GENERATIONS
        / f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    )
    folder.mkdir(parents=True)
    return folder


def publish(index_dir: Path, generation: Path) -> None:
    """Make `generation` current, atomically and durably."""
    _fsync_tree(generation)
    tmp = index_dir / f".{CURRENT}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(os.path.relpath(generation, index_dir), tmp)
    os.replace(tmp, index_dir / CURRENT)
    _fsync_dir(index_dir)


def remove_stale(index_dir: Path) -> None:
    """Delete unpublished leftovers and generations older than the kept previous ones.

    Only called under the build lock, so no other build is writing a generation.
    """
    root = index_dir / GENERATIONS
    current = current_generation(index_dir)
    if not root.is_dir():
        return
    folders = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    others = [p for p in folders if current is None or p.resolve() != current.resolve()]
    for folder in others[: max(0, len(others) - KEEP_PREVIOUS)]:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold the build lock for `index_dir`, or raise `BuildLocked` at once."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown process"
            raise BuildLocked(index_dir, holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
        yield
    finally:
        os.close(fd)


def disk_usage(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
