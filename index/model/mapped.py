"""A tensor of a safetensors file mapped read-only into memory, for ONNX Runtime sessions to
share instead of each holding its own copy (`encoders.open_session(initializers=...)`).

Both readers use e5's word-embedding table, 250,037 × 384 float32 (366 MiB). ONNX Runtime kept a
copy for each session when their graphs held it; they no longer do. Given this mapping instead,
every session of the process reads the one table in e5's own weights file, and only the pages of
rows that questions and passages actually use become resident; the kernel may drop them again
under pressure, since they are the file's. docs/benchmarks.md, section 8, has the figures.
"""

from __future__ import annotations

import functools
import json
import logging
import struct
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# safetensors' names for the element types a mapped tensor may have
DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def tensor_view(path: Path, key: str) -> np.ndarray | None:
    """The tensor `key` of the safetensors file `path`, mapped read-only (no copy); None where
    the file or the tensor is missing or the file is not one (nothing is shared then)."""
    try:
        with path.open("rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(length))
        meta = header[key]
        dtype = DTYPES[meta["dtype"]]
        start, end = (int(x) for x in meta["data_offsets"])
        shape = tuple(int(x) for x in meta["shape"])
    except (OSError, ValueError, KeyError, TypeError, struct.error):
        log.debug("%s has no tensor %s to share", path, key)
        return None
    if end - start != int(np.prod(shape)) * np.dtype(dtype).itemsize:
        log.debug("%s: %s's size does not match its shape", path, key)
        return None
    return np.memmap(path, dtype=dtype, mode="r", offset=8 + length + start, shape=shape)


@functools.cache
def shared_tensor(path: Path, key: str) -> Any | None:
    """`tensor_view` as an ONNX Runtime value, one per file and tensor in the process (so every
    session that takes it reads the same mapping, which lives as long as the process)."""
    view = tensor_view(path, key)
    if view is None:
        return None
    import onnxruntime as ort

    return ort.OrtValue.ortvalue_from_numpy(view)
