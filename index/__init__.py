"""Khabar's engine: articles → passages → embeddings → a FAISS index, and cited answers."""

from .errors import KhabarError
from .settings import Settings

__all__ = ["KhabarError", "Settings"]
