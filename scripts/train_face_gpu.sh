#!/usr/bin/env bash
# Train the face models on a CUDA machine, four runs side by side on one GPU, each within a
# time budget (a timed probe picks the epochs; the card records them and the command).
#
#   scripts/train_face_gpu.sh DATA OUT [BUDGET_SECONDS]
#
# DATA is FER2013 in folder-per-class layout (train/ and val/ are enough: test/ is scored
# later, on the CPU, by `avemotion evaluate face`). Needs only torch, numpy, opencv and
# onnx on that machine; the package runs from src/ without being installed.
# Runs: the seed's CNN and plain recipe (the baseline), the compact VGG net with two seeds,
# and the narrower VGG net. Which one ships is chosen on val.
set -euo pipefail
DATA=$1
OUT=$2
BUDGET=${3:-270}
mkdir -p "$OUT"
export PYTHONPATH="$(cd "$(dirname "$0")/.." && pwd)/src${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python3}
# Decode the splits once (cached as .npz), so the runs below start together.
$PY -c "import sys; from avemotion.training.face import load_split as l; [l(sys.argv[1], s) for s in ('train', 'val')]" "$DATA"
run() {
    local name=$1
    shift
    $PY -m avemotion.cli -v train face "$DATA" --run "$OUT/$name" --out "$OUT/$name" --name "$name" \
        --time-budget "$BUDGET" "$@" >"$OUT/$name.log" 2>&1 || echo "$name failed: see $OUT/$name.log"
}
run face_baseline --arch seed --epochs 40 &
run face_vgg_seed0 --arch vgg --epochs 200 --seed 0 &
run face_vgg_seed1 --arch vgg --epochs 200 --seed 1 &
run face_vggs_seed0 --arch vgg-s --epochs 200 --seed 0 &
wait
tail -n 2 "$OUT"/*.log
