"""The Bot API methods the test server implements, on top of `World`: importing this module
registers every one of them in `METHODS`."""

from __future__ import annotations

from . import api_files, api_messages, api_setup, api_updates
from .methods import METHODS, Upload, decode_params

store_file = api_files.store_file
long_poll = api_updates.long_poll

__all__ = [
    "METHODS",
    "Upload",
    "api_messages",
    "api_setup",
    "decode_params",
    "long_poll",
    "store_file",
]
