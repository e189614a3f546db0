#!/usr/bin/env bash
# Does training on frames decoded without the passed frames' loop filter train like exact
# frames? (DATA.PASSED_FRAMES, issue 17, docs/performance.md)
# For each seed: `vifi demo` writes its config; `vifi data synth` writes the demo's classes as
# H.264 the way Kinetics' copies are coded (x264's `medium`, CRF 23, one keyframe in 250 frames,
# 300 frames), so wanted frames lie up to 300 frames from their keyframe and drift the most; the
# demo's model is trained on it with DATA.PASSED_FRAMES skip_unreferenced (exact frames) and with
# skip_deblocking (the training default), both validated on exact frames (TEST.PASSED_FRAMES's
# default). A control row trains the exact run again with TRAIN.LR 1% higher: a change that
# should not matter, which says how far single seeds move by chance.
# Usage: tools/passed-frames-accuracy.sh [--vifi build/vifi] [--work DIR] [--frames 300] [SEED ...]
#   (default seeds 7 8 9 10)
set -euo pipefail
vifi=build/vifi
work=/tmp/vifi-passed-frames-accuracy
frames=300
seeds=()
while (($#)); do
  case "$1" in
    --vifi) vifi=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --frames) frames=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) seeds+=("$1"); shift ;;
  esac
done
((${#seeds[@]})) || seeds=(7 8 9 10)
[[ -x "$vifi" ]] || { echo "passed-frames-accuracy: $vifi is not an executable (build it, or pass --vifi)" >&2; exit 2; }

# shellcheck source=tools/run-metrics.sh
source "$(dirname "$0")/run-metrics.sh"

# train DIR NAME KEY VALUE...: the demo's config on the H.264 set, into DIR/run-NAME.
train() {
  local dir=$1 name=$2
  shift 2
  local set="$dir/h264"
  "$vifi" train --config "$dir/demo.yaml" --output "$dir/run-$name" \
    --opts DATA.ROOT "$set" DATA.TRAIN_FILE "$set/train.txt" DATA.VAL_FILE "$set/val.txt" \
    DATA.LABEL_LIST "$set/labels.csv" TEST.PASSED_FRAMES skip_unreferenced "$@" > "$dir.$name.log" 2>&1 ||
    { tail -20 "$dir.$name.log" >&2; exit 1; }
}

mkdir -p "$work"
rows=()
for seed in "${seeds[@]}"; do
  dir="$work/seed-$seed"
  rm -rf "$dir"
  echo "== seed $seed: vifi demo (its config), then the H.264 set" >&2
  "$vifi" demo --out "$dir" --seed "$seed" > "$dir.demo.log" 2>&1 || { tail -20 "$dir.demo.log" >&2; exit 1; }
  classes=$(sed -nE 's/^  NUM_CLASSES: ([0-9]+).*/\1/p' "$dir/demo.yaml")
  "$vifi" data synth --out "$dir/h264" --classes "$classes" --train-per-class 40 --val-per-class 8 --frames "$frames" \
    --keyint 250 --codec h264 --x264-preset medium --crf 23 --seed "$seed" > "$dir.synth.log" 2>&1 ||
    { tail -20 "$dir.synth.log" >&2; exit 1; }
  echo "== seed $seed: training on exact frames, on frames without the passed frames' loop filter, control" >&2
  train "$dir" exact DATA.PASSED_FRAMES skip_unreferenced
  train "$dir" deblocking-skipped DATA.PASSED_FRAMES skip_deblocking
  lr=$(sed -nE 's/^  LR: (.*)/\1/p' "$dir/demo.yaml")
  train "$dir" control DATA.PASSED_FRAMES skip_unreferenced TRAIN.LR "$(awk -v lr="$lr" 'BEGIN { printf "%.6g", lr * 1.01 }')"
  rows+=("$seed $(final_top1 "$dir/run-exact") $(final_top1 "$dir/run-deblocking-skipped") $(final_top1 "$dir/run-control")")
done

printf '\n| seed | exact frames | passed frames not deblocked | difference | control: exact, LR x1.01 | difference |\n'
printf '| ---: | ---: | ---: | ---: | ---: | ---: |\n'
printf '%s\n' "${rows[@]}" | awk '
  { printf "| %s | %.1f | %.1f | %+.1f | %.1f | %+.1f |\n", $1, $2, $3, $3 - $2, $4, $4 - $2
    e += $2; a += $3; c += $4; n += 1; d = $3 - $2; dd += d * d; k = $4 - $2; kk += k * k }
  END {
    printf "| mean | %.2f | %.2f | %+.2f | %.2f | %+.2f |\n", e / n, a / n, (a - e) / n, c / n, (c - e) / n
    if (n > 1) printf "| sd of the differences | | | %.2f | | %.2f |\n", sqrt((dd - (a - e) ^ 2 / n) / (n - 1)), sqrt((kk - (c - e) ^ 2 / n) / (n - 1))
  }'
