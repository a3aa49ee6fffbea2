"""Answering: a question in, cited hits out. Search (dense and BM25, fused), the excerpt a
reader sees, the reader's stage and the one decision (answer, or "found nothing") that the bot,
`khabar ask`, `khabar eval` and alerts share. It reads an index through the engines' protocol
(`index/backends/base.py`) and never builds or writes one.
"""

from .followup import Context
from .hits import Answer, Hit, IndexInfo
from .reading import ReaderStage
from .retriever import Retriever

__all__ = ["Answer", "Context", "Hit", "IndexInfo", "ReaderStage", "Retriever"]
