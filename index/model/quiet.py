"""Third-party chatter kept off the terminal: ONNX Runtime's quantiser and optimizer log on the
root logger ("Please consider to run pre-processing before quantization", every tensor and
fusion), and transformers prints a load report of the weights a model did not use and a
progress bar of loading them. While `third_party_quiet()` is active, records logged on the root
logger itself (Khabar never logs there) go to the log at DEBUG level, and transformers shows no
bar and says only errors; Khabar's own loggers are untouched. With `-v` (DEBUG) they show, as
DEBUG lines.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


class _RootToDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != "root" or record.levelno >= logging.ERROR:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


@contextlib.contextmanager
def third_party_quiet() -> Iterator[None]:
    from transformers.utils import logging as hf_logging

    root = logging.getLogger()
    level, verbosity = root.level, hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    demote = _RootToDebug()
    root.addFilter(demote)
    hf_logging.disable_progress_bar()  # "Loading weights: 197/197"
    if not root.isEnabledFor(logging.DEBUG):
        root.setLevel(max(level, logging.WARNING))  # per tensor and per fusion, at INFO
        hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        root.removeFilter(demote)
        root.setLevel(level)
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
