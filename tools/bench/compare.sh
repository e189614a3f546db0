#!/usr/bin/env bash
# Runs vifi's model benchmark and the eager-PyTorch baseline (tools/bench/reference.py) with the
# same shapes, threads and dtype, one after the other, and prints both lines and vifi/reference.
#   tools/bench/compare.sh [--bin PATH] [--python PATH] [--gemm] [-- flags for both, e.g. --train --threads 2]
# --bin: a `vifi_bench` or `vifi` executable (default: build/vifi_bench, then build/vifi).
# --python: the baseline's interpreter (default: /usr/bin/python3, Debian's python3-torch).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=""
python=/usr/bin/python3
gemm=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --gemm) gemm=1; shift ;;
    --) shift; break ;;
    *) break ;;
  esac
done
if [[ -z "$bin" ]]; then
  for candidate in "$root/build/vifi_bench" "$root/build/vifi"; do
    if [[ -x "$candidate" ]]; then bin=$candidate; break; fi
  done
fi
[[ -x "$bin" ]] || { echo "compare.sh: no vifi_bench/vifi executable; pass --bin" >&2; exit 1; }
# `vifi bench model ...` or `vifi_bench model ...`: same flags either way.
prefix=("$bin")
[[ "$(basename "$bin")" == vifi ]] && prefix+=(bench)

field() {  # field NAME LINE
  sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"
}

ours=$("${prefix[@]}" model "$@" | grep '^RESULT')
echo "$ours"
theirs=$("$python" "$here/reference.py" "$@" | grep '^RESULT')
echo "$theirs"
ratio=$(awk -v a="$(field items_per_s "$ours")" -v b="$(field items_per_s "$theirs")" 'BEGIN { printf "%.3f", a / b }')
echo "RATIO mode=$(field mode "$ours") vifi/reference=${ratio}x (items/s)"
if [[ $gemm -eq 1 ]]; then
  device=$(field device "$ours"); dtype=$(field dtype "$ours"); threads=$(field threads "$ours")
  g=$("${prefix[@]}" gemm --device "$device" --dtype "$dtype" --threads "$threads" | grep '^RESULT')
  echo "$g"
  awk -v m="$(field tflops "$ours")" -v r="$(field tflops "$theirs")" -v g="$(field tflops "$g")" \
    'BEGIN { printf "GEMM_FRACTION vifi=%.1f%% reference=%.1f%% of %.3f TFLOP/s\n", 100 * m / g, 100 * r / g, g }'
fi
