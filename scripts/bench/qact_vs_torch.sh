#!/bin/sh
# scripts/bench/qact_vs_torch.sh — what quantized activations cost in
# training, lpact against PyTorch (Debian's python3-torch, /usr/bin/python3),
# in one invocation: cnn_small and the MLP on Fashion-MNIST, Adam lr 1e-3,
# batch 128, every ReLU computed in FP4 (E2M1) with learnable levels, in lut
# and in emulate mode, against the same model with FP32 ReLU. Each side
# interleaves its three configurations in rounds of N batches
# (scripts/bench/qact_overhead.lua, scripts/bench/qact_vs_torch.py) and
# reports the ratio to its own FP32 time; the table puts the ratios side
# by side, with lpact's ms per batch against PyTorch's.
#
# usage: scripts/bench/qact_vs_torch.sh [--batches N] [--rounds N]
# env:   LPACT_BUILD (build folder, default build), THREADS (default 2),
#        LPACT_DATA (the Fashion-MNIST folder)
set -eu
B="${LPACT_BUILD:-build}"
BATCHES=40
ROUNDS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --batches) BATCHES="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    *) echo "usage: $0 [--batches N] [--rounds N]" >&2; exit 2 ;;
  esac
done
case "$BATCHES$ROUNDS" in *[!0-9]*|"") echo "$0: --batches and --rounds must be whole numbers" >&2; exit 2 ;; esac
T="${THREADS:-2}"
export LPACT_THREADS="$T" OPENBLAS_NUM_THREADS="$T" OMP_NUM_THREADS="$T" MKL_NUM_THREADS="$T"
[ -x "$B/lpact" ] || { echo "$0: $B/lpact not built (run make)" >&2; exit 2; }
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "$0: /usr/bin/python3 has no torch (apt-get install python3-torch)" >&2; exit 2; }
D="${LPACT_DATA:-/usr/share/datasets/fashion-mnist}"
[ -d "$D" ] || { echo "$0: no Fashion-MNIST in $D (apt-get install dataset-fashion-mnist, or set LPACT_DATA)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$B/lpact" scripts/bench/qact_overhead.lua "$BATCHES" "$ROUNDS" both fp4 > "$tmp/l.out" 2>&1 || { cat "$tmp/l.out" >&2; exit 1; }
/usr/bin/python3 scripts/bench/qact_vs_torch.py --batches "$BATCHES" --rounds "$ROUNDS" --threads "$T" --data "$D" \
  > "$tmp/t.out" 2>&1 || { cat "$tmp/t.out" >&2; exit 1; }

echo "$ROUNDS rounds x $BATCHES batches of 128 per configuration, $T threads"
printf '%-10s %-22s %12s %12s %12s %12s\n' model activations lpact_ms torch_ms lpact_ratio torch_ratio
for m in cnn_small mlp; do
  for c in fp32 "fp4 lut learnable" "fp4 emulate learnable"; do
    key=$(echo "$c" | tr ' ' _)
    lm=$m; [ "$m" = mlp ] && lm="mlp 784-256-128-10"
    l=$(grep "^$lm  *$c  " "$tmp/l.out" | awk '{ print $(NF-2), $NF }')
    t=$(sed -n "s/^$m $key ms_per_batch=\([^ ]*\) ratio=\([^ ]*\)$/\1 \2/p" "$tmp/t.out")
    [ -n "$l" ] && [ -n "$t" ] || { echo "$0: missing results for $m $c" >&2; cat "$tmp/l.out" "$tmp/t.out" >&2; exit 1; }
    set -- $l $t
    printf '%-10s %-22s %12.2f %12.2f %11.3fx %11.3fx\n' "$m" "$c" "$1" "$3" "$2" "$4"
  done
done
