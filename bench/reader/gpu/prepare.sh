#!/usr/bin/env bash
# Prepares, on this machine, what bench/reader/gpu/train.sh needs on a GPU machine lent by the device
# tool (docs/reader.md, "Training on a GPU"): a training pack (`khabar reader pack`: the examples
# and the part of e5 they use, ~22 MiB) and the wheels of the few packages Khabar's training
# imports that the GPU machine's image lacks. Both go to .gpu/ (ignored by git, carried there).
#
#   bash bench/reader/gpu/prepare.sh ../shared [EXAMPLES]
#
# PYTHON (default .venv/bin/python) runs khabar; PYVER (default 3.12, the GPU image's) picks the
# wheels; CROSS_SHARE (default 0.55, as the shipped weights' last run) the share of
# cross-language and swapped examples (index/reader/cross.py).
set -euo pipefail
shared=${1:?usage: bash bench/reader/gpu/prepare.sh ../shared [EXAMPLES]}
shared=$(cd "$shared" && pwd)
examples=${2:-120000}
cd "$(dirname "$0")/../../.."
py=${PYTHON:-.venv/bin/python}
rm -rf .gpu/wheels
mkdir -p .gpu/wheels
"$py" -m khabar reader pack --data "$shared/train" --news "$shared/bench/bbc-news" \
    --out .gpu/pack --examples "$examples" --cross-share "${CROSS_SHARE:-0.55}"
# Training imports index/ and khabar/, which need these (pinned as in requirements.lock).
pins=$(grep -iE '^(pydantic|pydantic_core|pydantic-settings|python-dotenv|annotated-types|typing-inspection|typing_extensions|PyStemmer)==' requirements.lock)
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
    platforms+=(--platform "$p")
done
# shellcheck disable=SC2086
"$py" -m pip download -q --no-deps --only-binary=:all: --python-version "${PYVER:-3.12}" \
    --implementation cp "${platforms[@]}" -d .gpu/wheels $pins
du -sh .gpu/pack .gpu/wheels
echo "ready: run bench/reader/gpu/train.sh on the GPU machine with .gpu carried (docs/reader.md)"
