"""Khabar's engine: articles → passages → embeddings → an index, and cited answers.

Its rooms, in the order an article and then a question travel (imports go down this list,
never up; `tests/test_layout.py` keeps it so):

- `settings`, `errors`, `redact`: the one Settings object, typed errors, secrets kept out of logs
- `articles/`: files of every format and encoding read into articles, passages, sentences, stems
- `model/`: the embedding model (any sentence-transformers model; e5 rebuilt offline, ONNX)
- `build/`: the steps every build shares (scan, diff, parse, plan, embed) and the manifest
- `reader/`: Khabar's own reader model (training, export, running it)
- `backends/`: the storage engines behind one protocol (`folder/`, `postgres/`) and the build
  entry point (`backends.build_index`)
- `answer/`: search, excerpt, the reader's stage and the decision (`answer.Retriever`)
- `evaluate`: `khabar eval`

Code outside `index/` imports a package (`index.answer`, `index.backends`, ...) or a top-level
module (`index.settings`, `index.errors`), never a module inside a package.
"""

from .errors import KhabarError
from .settings import Settings

__all__ = ["KhabarError", "Settings"]

import os as _os

# OpenMP threads (FAISS's, torch's) otherwise spin after each parallel region and take the CPU
# from ONNX Runtime's own threads: measured here, a question p50 of 36 ms fell to 26 ms.
# Set before FAISS or torch load their OpenMP runtime; an explicit setting wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
