#!/usr/bin/env bash
# Does a prepared set train like its source? (issue 17, docs/performance.md)
# For each seed: `vifi demo` trains on its synthetic source set (MPEG-4 AVI, 96x64); the same set
# after `vifi data prepare` is trained with the same config and seed; the final top-1 of both
# is printed as one table row, and the mean over the seeds at the end. Two cross checks tell the
# data from the training run apart: the source-trained model tested on the prepared validation
# videos, and the prepared-trained model on the source ones.
# --control adds two columns that tell the check's own noise: the source set trained again with
# TRAIN.LR 1% higher (the optimisation), and with DATA.SCALE_FRAMES after_decode (the data: the
# reference's resize order, pixels a few grey levels off); changes that should not matter, so a
# seed that moves as much under them as under preparing says the demo's top-1 is that sensitive,
# not that the prepared set trains worse.
# Usage: tools/prepared-accuracy.sh [--vifi build/vifi] [--work DIR] [--codec h264|mjpeg] [--crf 23]
#                                   [--short-side 40] [--control] [SEED ...]
#   (default seeds 7 8 9 10; prepared with --keyint 16 and a short side of 40 by default: the demo
#   trains at 32, resizing to 36; --short-side 0 keeps the source's 96x64)
set -euo pipefail
vifi=build/vifi
work=/tmp/vifi-prepared-accuracy
codec=h264
crf=23
short_side=40
control=0
seeds=()
while (($#)); do
  case "$1" in
    --vifi) vifi=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --codec) codec=$2; shift 2 ;;
    --crf) crf=$2; shift 2 ;;
    --short-side) short_side=$2; shift 2 ;;
    --control) control=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) seeds+=("$1"); shift ;;
  esac
done
((${#seeds[@]})) || seeds=(7 8 9 10)
[[ -x "$vifi" ]] || { echo "prepared-accuracy: $vifi is not an executable (build it, or pass --vifi)" >&2; exit 2; }

# shellcheck source=tools/run-metrics.sh
source "$(dirname "$0")/run-metrics.sh"

# top-1 of checkpoint $2 on the validation set of config $1/demo.yaml (with further --opts).
test_top1() {
  local dir=$1 ckpt=$2
  shift 2
  "$vifi" train --config "$dir/demo.yaml" --only-test --resume "$ckpt" --output "$dir/cross" "$@" 2>&1 |
    sed -nE 's/.*test: top-1 ([0-9.]+)%.*/\1/p' | tail -1
}

mkdir -p "$work"
rows=()
for seed in "${seeds[@]}"; do
  dir="$work/seed-$seed"
  rm -rf "$dir"
  echo "== seed $seed: source set (vifi demo)" >&2
  "$vifi" demo --out "$dir" --seed "$seed" > "$dir.demo.log" 2>&1 || { tail -20 "$dir.demo.log" >&2; exit 1; }
  echo "== seed $seed: vifi data prepare --codec $codec --short-side $short_side --keyint 16 --crf $crf" >&2
  "$vifi" data prepare "$dir/data" "$dir/prepared" --codec "$codec" --short-side "$short_side" --keyint 16 --crf "$crf" --sample 0 \
    > "$dir.prepare.log" 2>&1 || { tail -20 "$dir.prepare.log" >&2; exit 1; }
  echo "== seed $seed: training on the prepared set" >&2
  "$vifi" train --config "$dir/demo.yaml" --output "$dir/run-prepared" \
    --opts DATA.ROOT "$dir/prepared" DATA.TRAIN_FILE "$dir/prepared/train.txt" \
    DATA.VAL_FILE "$dir/prepared/val.txt" DATA.LABEL_LIST "$dir/prepared/labels.csv" > "$dir.train.log" 2>&1 || { tail -20 "$dir.train.log" >&2; exit 1; }
  # Cross checks: each run's last checkpoint on the other set's validation videos.
  p="$dir/prepared"
  cross_prepared=$(test_top1 "$dir" "$(last_checkpoint "$dir/run")" --opts DATA.ROOT "$p" DATA.TRAIN_FILE "$p/train.txt" \
    DATA.VAL_FILE "$p/val.txt" DATA.LABEL_LIST "$p/labels.csv")
  cross_source=$(test_top1 "$dir" "$(last_checkpoint "$dir/run-prepared")")
  row="$seed $(final_top1 "$dir/run") $(final_top1 "$dir/run-prepared") $cross_prepared $cross_source"
  if ((control)); then
    echo "== seed $seed: control, the source set with TRAIN.LR x1.01" >&2
    lr=$(sed -nE 's/^  LR: (.*)/\1/p' "$dir/demo.yaml")
    "$vifi" train --config "$dir/demo.yaml" --output "$dir/run-control" \
      --opts TRAIN.LR "$(awk -v lr="$lr" 'BEGIN { printf "%.6g", lr * 1.01 }')" > "$dir.control.log" 2>&1 ||
      { tail -20 "$dir.control.log" >&2; exit 1; }
    echo "== seed $seed: control, the source set with DATA.SCALE_FRAMES after_decode" >&2
    "$vifi" train --config "$dir/demo.yaml" --output "$dir/run-after-decode" --opts DATA.SCALE_FRAMES after_decode \
      > "$dir.after-decode.log" 2>&1 || { tail -20 "$dir.after-decode.log" >&2; exit 1; }
    row+=" $(final_top1 "$dir/run-control") $(final_top1 "$dir/run-after-decode")"
  fi
  rows+=("$row")
done

header="| seed | trained on source | trained on prepared ($codec, short side $short_side, CRF $crf) | difference | source-trained on prepared val | prepared-trained on source val |"
rule="| ---: | ---: | ---: | ---: | ---: | ---: |"
if ((control)); then
  header+=" control: source, LR x1.01 | difference | control: source, after_decode | difference |"
  rule+=" ---: | ---: | ---: | ---: |"
fi
printf '\n%s\n%s\n' "$header" "$rule"
# The standard deviation of the differences says how far apart single seeds land by chance.
printf '%s\n' "${rows[@]}" | awk -v control="$control" '
  { printf "| %s | %.1f | %.1f | %+.1f | %.1f | %.1f |", $1, $2, $3, $3 - $2, $4, $5
    if (control) printf " %.1f | %+.1f | %.1f | %+.1f |", $6, $6 - $2, $7, $7 - $2
    printf "\n"
    s += $2; p += $3; a += $4; b += $5; c += $6; g += $7; n += 1
    d = $3 - $2; dd += d * d; e = $6 - $2; ee += e * e; h = $7 - $2; hh += h * h }
  END {
    printf "| mean | %.2f | %.2f | %+.2f | %.2f | %.2f |", s / n, p / n, (p - s) / n, a / n, b / n
    if (control) printf " %.2f | %+.2f | %.2f | %+.2f |", c / n, (c - s) / n, g / n, (g - s) / n
    printf "\n"
    if (n > 1) {
      printf "| sd of the differences | | | %.2f | | |", sqrt((dd - (p - s) ^ 2 / n) / (n - 1))
      if (control) printf " | %.2f | | %.2f |", sqrt((ee - (c - s) ^ 2 / n) / (n - 1)), sqrt((hh - (g - s) ^ 2 / n) / (n - 1))
      printf "\n"
    }
  }'
