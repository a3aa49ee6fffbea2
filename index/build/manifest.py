"""The manifest: what an index was built with. Loading checks it before anything else."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import IndexCorrupt, IndexMismatch

FILE_NAME = "manifest.json"
FORMAT_VERSION = 3  # 2: BM25 (passages_fts); 3: sentence vectors in passages


@dataclass(frozen=True)
class Manifest:
    model: str
    dimension: int
    chunk_tokens: int
    chunk_overlap_tokens: int
    passage_prompt: str
    query_prompt: str
    store: str = "faiss"
    precision: str = "float32"  # "int8" when built with KHABAR_RUNTIME=onnx-int8
    sentence_vectors: str = "pooled"  # or "encoded" (KHABAR_SENTENCE_VECTORS)
    reader_version: int = 0
    splitter_version: int = 1  # sentences.SPLITTER_VERSION (1 before it was recorded)
    stems_version: int = 1  # lexical.STEMS_VERSION (1 before it was recorded)
    file_sizes: dict[str, int] = field(default_factory=dict)
    file_digests: dict[str, str] = field(default_factory=dict)  # BLAKE2b of each file
    format_version: int = FORMAT_VERSION
    built_at: str = ""
    articles: int = 0
    passages: int = 0

    def save(self, folder: Path) -> None:
        (folder / FILE_NAME).write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> Manifest:
        path = folder / FILE_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise IndexCorrupt(f"{path} is missing") from None
        except (ValueError, UnicodeDecodeError):
            raise IndexCorrupt(f"{path} is not valid JSON") from None
        if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
            found = data.get("format_version") if isinstance(data, dict) else None
            raise IndexMismatch(
                f"the index in {folder.parent.parent} has format version {found}, this Khabar "
                f'reads version {FORMAT_VERSION} — rebuild it with "khabar index build --full"'
            )
        try:
            return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except TypeError as exc:
            raise IndexCorrupt(f"{path} is incomplete ({exc})") from None

    def check_files(self, folder: Path) -> None:
        """Raise `IndexCorrupt` when a file of the index is missing, not the size written, or
        (checked last: it reads every byte) not the content written."""
        for name in sorted(self.file_sizes.keys() | self.file_digests.keys()):
            path = folder / name
            if not path.is_file():
                raise IndexCorrupt(f"{path} is missing")
            if name in self.file_sizes and path.stat().st_size != self.file_sizes[name]:
                raise IndexCorrupt(f"{path} has been truncated or altered")
        for name, digest in self.file_digests.items():
            if file_digest(folder / name) != digest:
                raise IndexCorrupt(f"{folder / name} has been altered since it was written")


def file_digest(path: Path) -> str:
    """A fast checksum of a file (BLAKE2b, read in 1 MiB blocks): catches flipped bytes that
    leave the size alone, which FAISS and SQLite would otherwise load without noticing."""
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
