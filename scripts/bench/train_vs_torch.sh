#!/bin/sh
# scripts/bench/train_vs_torch.sh — seconds per epoch and peak memory of
# lpact against PyTorch (Debian's python3-torch, /usr/bin/python3) on the
# same Fashion-MNIST recipe: MLP 784-256-128-10 (ReLU) and cnn_small, Adam
# lr 1e-3, batch 128, seed 1, 2 threads each, run one after the other in
# one invocation; prints both times, the ratio lpact/torch (<= 1 means
# lpact is at least as fast) and each side's peak resident memory.
#
# usage: scripts/bench/train_vs_torch.sh [--epochs N] [--models "mlp cnn_small"] [--limit N]
#        [--seed N] [--normalize] (standardise inputs in both)
# env:   LPACT_BUILD (build folder, default build), THREADS (default 2)
set -eu
B="${LPACT_BUILD:-build}"
EPOCHS=1
MODELS="mlp cnn_small"
LIMIT=""
SEED=1
NORM=0
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) EPOCHS="$2"; shift 2 ;;
    --models) MODELS="$2"; shift 2 ;;
    --limit) LIMIT="--limit $2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --normalize) NORM=1; shift ;;
    *) echo "usage: $0 [--epochs N] [--models \"mlp cnn_small\"] [--limit N] [--seed N] [--normalize]" >&2; exit 2 ;;
  esac
done
T="${THREADS:-2}"
export LPACT_THREADS="$T" OPENBLAS_NUM_THREADS="$T" OMP_NUM_THREADS="$T" MKL_NUM_THREADS="$T"
[ -x "$B/lpact" ] || { echo "$0: $B/lpact not built (run make)" >&2; exit 2; }
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "$0: /usr/bin/python3 has no torch (apt-get install python3-torch)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

field() { sed -n "s/^result .*$1=\([^ ]*\).*/\1/p" "$2"; }
rss() { sed -n 's/^maxrss_kb=//p' "$1"; }

printf '%-10s %12s %12s %7s %10s %10s %9s %9s\n' model lpact_s/ep torch_s/ep ratio lpact_MB torch_MB lpact_acc torch_acc
for m in $MODELS; do
  /usr/bin/time -f 'maxrss_kb=%M' -o "$tmp/l.time" \
    "$B/lpact" scripts/bench/train_vs_torch.lua --model "$m" --epochs "$EPOCHS" --seed "$SEED" --normalize "$NORM" $LIMIT > "$tmp/l.out" 2>&1 \
    || { cat "$tmp/l.out" >&2; exit 1; }
  /usr/bin/time -f 'maxrss_kb=%M' -o "$tmp/t.time" \
    /usr/bin/python3 scripts/bench/train_vs_torch.py --model "$m" --epochs "$EPOCHS" --seed "$SEED" --normalize "$NORM" --threads "$T" $LIMIT > "$tmp/t.out" 2>&1 \
    || { cat "$tmp/t.out" >&2; exit 1; }
  ls=$(field seconds_per_epoch "$tmp/l.out"); ts=$(field seconds_per_epoch "$tmp/t.out")
  la=$(field test_acc "$tmp/l.out"); ta=$(field test_acc "$tmp/t.out")
  lm=$(rss "$tmp/l.time"); tm=$(rss "$tmp/t.time")
  awk -v m="$m" -v ls="$ls" -v ts="$ts" -v lm="$lm" -v tm="$tm" -v la="$la" -v ta="$ta" 'BEGIN {
    printf "%-10s %12.3f %12.3f %6.2fx %10.1f %10.1f %9.4f %9.4f\n", m, ls, ts, ls / ts, lm / 1024, tm / 1024, la, ta }'
  sed -n 's/^epoch/    lpact epoch/p' "$tmp/l.out"
  sed -n 's/^epoch/    torch epoch/p' "$tmp/t.out"
done
