"""Khabar's reader: a cross-encoder that reads a question with a passage and points at the
words that answer it (or at nothing). Trained here from multilingual-e5-small's weights on
`../shared/train/` (`khabar reader train`); the trained part ships in `weights/`. It knows
nothing of indexes or hits: answering (`index/answer/reading.py`) runs it on the top passages.

Modules: `pairs` (the model's input and the best span, pure), `model` (the torch module and
its shipped weights), `examples`, `pack` and `train` (training), `runtime` (ONNX Runtime at
answer time), `score` (SQuAD's token F1).
"""

from .model import WEIGHTS_DIR, Recipe
from .train import Options, make_pack, train

__all__ = ["WEIGHTS_DIR", "Options", "Recipe", "make_pack", "train"]
