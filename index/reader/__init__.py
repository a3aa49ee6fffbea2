"""Khabar's reader: a cross-encoder that reads a question with a passage and points at the
words that answer it (or at nothing). Trained here from multilingual-e5-small's weights on
`../shared/train/` (`khabar reader train`); the trained part ships in `weights/`.

Modules: `pairs` (the model's input and the best span, pure), `model` (the torch module and
its shipped weights), `examples` and `train` (training), `runtime` (ONNX Runtime at answer
time), `select` (what the reader's verdict does to the hits a reader sees).
"""
