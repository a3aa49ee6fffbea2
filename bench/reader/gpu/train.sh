#!/usr/bin/env bash
# Runs ON the GPU machine (the device tool's `run`, with `.gpu` carried; bench/reader/gpu/prepare.sh
# made it): trains the reader from the pack with the GPU and writes to $OUT the weights (in
# parts of at most 15 MiB: a file coming back is at most 16), the card, the validation curve
# and the log. bench/reader/gpu/collect.sh puts them together here.
#
#   run: bash bench/reader/gpu/train.sh        (timeout_s 540)
#
# The recipe comes from the environment: EXAMPLES (120000), TRAINED_FROM (2: layers 2-7 of 8,
# 21 MB in float16, under the 25 MB the repository takes), BATCH (32), LR (1e-4), SEED (13),
# MINUTES (6: training stops then and still writes the weights).
set -uo pipefail
out=${OUT:?OUT is the folder whose files come back}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/khabar-site .gpu/wheels/*.whl || exit 1
export PYTHONPATH=/tmp/khabar-site:$PWD PYTHONUNBUFFERED=1 KHABAR_DATA_DIR=/tmp/khabar-data
python3 -c 'import torch; print("torch", torch.__version__, "GPU:", torch.cuda.is_available() and torch.cuda.get_device_name(0))'
started=$(date +%s)
python3 -m khabar reader train --pack .gpu/pack --out /tmp/khabar-weights --work /tmp/khabar-work \
    --examples "${EXAMPLES:-120000}" --trained-from "${TRAINED_FROM:-2}" --batch-size "${BATCH:-32}" \
    --learning-rate "${LR:-1e-4}" --seed "${SEED:-13}" --minutes "${MINUTES:-6}" 2>&1 \
    | tr '\r' '\n' | grep --line-buffered -v '^training the reader: ' | tee "$out/train.log"
status=${PIPESTATUS[0]}
echo "training took $(($(date +%s) - started)) s, exit $status"
[ "$status" = 0 ] || exit "$status"
cp /tmp/khabar-weights/reader.json "$out/"
cp /tmp/khabar-work/curve.jsonl "$out/"
split -b 15M -d /tmp/khabar-weights/reader.safetensors "$out/reader.safetensors.part"
ls -la "$out"
