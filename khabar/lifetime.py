"""Objects kept alive until `khabar` exits, so that freeing them does not delay the exit."""

from __future__ import annotations

_exiting_fast = False
_retained: list[object] = []


def mark_exiting_fast() -> None:
    """Called by `main.entry`: the process ends with `os._exit`, skipping the heap teardown."""
    global _exiting_fast
    _exiting_fast = True


def retain_until_exit(thing: object) -> None:
    """Keep `thing` alive until the program exits (only when run as `khabar`, see `entry`)."""
    if _exiting_fast:
        _retained.append(thing)
