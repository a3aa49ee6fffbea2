"""`index.model.mapped`: a tensor of a safetensors file mapped read-only, or None (and nothing
shared) where it cannot be."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file

from index.model.mapped import shared_tensor, tensor_view


def mapped_file(value: Any) -> Path:
    """The file whose mapping holds an ONNX Runtime value's data (Linux's /proc/self/maps)."""
    at = value.data_ptr()
    for line in Path("/proc/self/maps").read_text(encoding="utf-8").splitlines():
        fields = line.split()
        low, high = (int(x, 16) for x in fields[0].split("-"))
        if low <= at < high:
            return Path(fields[5]) if len(fields) > 5 else Path()
    return Path()


def test_a_tensor_is_mapped_as_written_and_read_only(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    table = np.arange(24, dtype=np.float32).reshape(6, 4)
    save_file({"a.bias": np.ones(3, dtype=np.float32), "table": table}, str(path))
    view = tensor_view(path, "table")
    assert view is not None and view.shape == (6, 4) and not view.flags.writeable
    assert np.array_equal(view, table)
    value = shared_tensor(path, "table")
    assert value is shared_tensor(path, "table")  # one per file and tensor in the process
    assert mapped_file(value) == path  # the file's pages, not a copy
    assert np.array_equal(value.numpy(), table)


def test_what_cannot_be_mapped_is_none(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    save_file({"table": np.zeros((2, 2), dtype=np.float32)}, str(path))
    assert tensor_view(path, "missing") is None
    assert tensor_view(tmp_path / "absent.safetensors", "table") is None
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    assert tensor_view(broken, "table") is None
    short = tmp_path / "short.safetensors"
    short.write_bytes(b"\x01")
    assert tensor_view(short, "table") is None
    assert shared_tensor(tmp_path / "absent.safetensors", "table") is None
