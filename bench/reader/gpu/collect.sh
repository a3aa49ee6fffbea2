#!/usr/bin/env bash
# Puts together, here, what bench/reader/gpu/train.sh wrote on the GPU machine (the device tool's
# files_at folder) into a weights folder, and checks it against its card's checksum.
#
#   bash bench/reader/gpu/collect.sh FILES_AT [OUT]
#
# OUT is the shipped folder, index/reader/weights, by default: khabar eval then measures the new
# weights (exported to ONNX again on first use), and `git checkout index/reader/weights` undoes
# it. The card's recipe has no `floor` yet (docs/reader.md: it is chosen with khabar eval).
set -euo pipefail
from=${1:?usage: bash bench/reader/gpu/collect.sh FILES_AT [OUT]}
out=${2:-index/reader/weights}
cd "$(dirname "$0")/../../.."
mkdir -p "$out"
cat "$from"/reader.safetensors.part* >"$out/reader.safetensors"
cp "$from/reader.json" "$from/curve.jsonl" "$out/"
${PYTHON:-.venv/bin/python} -c '
import sys
from pathlib import Path
from index.reader.model import verified_weights
recipe, path, sha = verified_weights(Path(sys.argv[1]))
print(f"{path}: {path.stat().st_size / 1e6:.1f} MB, checksum matches the card; {recipe}")
' "$out"
