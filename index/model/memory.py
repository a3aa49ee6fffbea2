"""Giving freed memory back to the system between encoding batches.

glibc keeps freed blocks for reuse, and after a large block is freed it raises the size from
which blocks are mapped on their own (up to 32 MB), so the batch buffers of a long build land in
the heap and fragment it: a 400-article build grew from 1.2 to 1.64 GB while its batches got
smaller. `malloc_trim(0)` after each chunk of batches releases the free pages (measured in
docs/benchmarks.md). Fixing the threshold instead (`mallopt(M_MMAP_THRESHOLD)`) held memory
down as well but made the build 1.5-1.7x slower: every batch's buffers were mapped afresh.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import cache
from typing import Any


@cache
def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def release_freed_memory() -> None:
    """Return the C heap's free pages to the system (glibc); nothing elsewhere."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
