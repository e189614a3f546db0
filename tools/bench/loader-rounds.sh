#!/usr/bin/env bash
# Same-run loader comparison of vifi builds (docs/performance.md, "Against the code before this
# work"): rounds that run every build back to back on the same annotation list, 1 worker, so a
# slow spell of a shared machine falls on one round of every build instead of on one build.
# Prints each round's clips/s and, per build, the mean, the ratio of its total to the first
# build's and the range of the per-round ratios.
#
#   tools/bench/loader-rounds.sh --set /tmp/vifi-bench-kinetics/source-8x300 [--rounds 7]
#       [--frames "8 16"] [--repeat-list 6] [--decoding-alone] -- old=/path/to/old/vifi \
#       new=build/vifi new_exact=build/vifi:skip_unreferenced
#
# --decoding-alone adds a column NAME/alone per build: the same invocation's "sparse" row, the
# same list's clips decoded (segment centres) with no transforms, batches or loader thread: what
# that build's decoder bounds its loader to. Builds since 12-03 decode that row as their training
# reads do (the column's PASSED_FRAMES); older ones decode it exactly, so give an old build no
# :PASSED_FRAMES.
#
# A build is NAME=BINARY, optionally :PASSED_FRAMES (DATA.PASSED_FRAMES for that column). The set
# is a folder with train.txt and labels.csv (what `vifi bench loader --synthetic kinetics` or
# `vifi data synth` writes); its list is repeated --repeat-list times (48 clips for 8 videos).
set -euo pipefail

usage() { awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0"; exit "${1:-2}"; }

set_dir="" rounds=7 frames="8 16" repeat_list=6 alone=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --set) set_dir="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --frames) frames="$2"; shift 2 ;;
    --repeat-list) repeat_list="$2"; shift 2 ;;
    --decoding-alone) alone=1; shift ;;
    -h|--help) usage 0 ;;
    --) shift; break ;;
    *) echo "loader-rounds: unknown option $1" >&2; usage ;;
  esac
done
[[ -n "$set_dir" && $# -ge 1 ]] || usage
for f in train.txt labels.csv; do
  [[ -f "$set_dir/$f" ]] || { echo "loader-rounds: $set_dir/$f not found (expected a dataset folder)" >&2; exit 2; }
done
set_dir=$(cd "$set_dir" && pwd)
names=() bins=() passed=()
for build in "$@"; do
  [[ "$build" == *=* ]] || { echo "loader-rounds: expected NAME=BINARY[:PASSED_FRAMES], got '$build'" >&2; exit 2; }
  name=${build%%=*} rest=${build#*=}
  bin=${rest%%:*} mode=""
  [[ "$rest" == *:* ]] && mode=${rest#*:}
  [[ -x "$bin" ]] || { echo "loader-rounds: $name: $bin is not an executable" >&2; exit 2; }
  names+=("$name") bins+=("$bin") passed+=("$mode")
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for ((i = 0; i < repeat_list; ++i)); do sed "s#^#$set_dir/#" "$set_dir/train.txt"; done > "$work/list.txt"
classes=$(($(grep -c . "$set_dir/labels.csv") - 1))

config() {  # frames passed_frames -> path of a config
  local path="$work/T$1-${2:-default}.yaml"
  {
    printf 'DATA:\n  ROOT: /\n  TRAIN_FILE: %s\n  VAL_FILE: %s\n' "$work/list.txt" "$work/list.txt"
    printf '  LABEL_LIST: %s\n  NUM_CLASSES: %d\n  NUM_FRAMES: %d\n' "$set_dir/labels.csv" "$classes" "$1"
    printf '  INPUT_SIZE: 224\n  NUM_WORKERS: 1\n'
    [[ -n "$2" ]] && printf '  PASSED_FRAMES: %s\n' "$2"
    printf 'TRAIN:\n  BATCH_SIZE: 8\nAUG:\n  COLOR_JITTER: 0.8\n  GRAY_SCALE: 0.2\n'
  } > "$path"
  echo "$path"
}

results="$work/results.txt"
for ((r = 1; r <= rounds; ++r)); do
  for t in $frames; do
    line="round $r frames $t"
    for i in "${!names[@]}"; do
      out=$("${bins[$i]}" bench loader --config "$(config "$t" "${passed[$i]}")" --frames "$t" --repeat 1 2>&1)
      rate=$(awk '$2 == "loader" {print $3}' <<< "$out")
      line+=" ${names[$i]} ${rate:-nan}"
      if ((alone)); then
        rate=$(awk '$2 == "sparse" {print $3}' <<< "$out")
        line+=" ${names[$i]}/alone ${rate:-nan}"
      fi
    done
    echo "$line" | tee -a "$results"
  done
done

awk -v first="${names[0]}" '
  { t = $4; for (i = 5; i < NF; i += 2) { v[t, $i] += $(i + 1); n[t, $i]++; r = $(i + 1) / $6;
      if (!((t, $i) in lo) || r < lo[t, $i]) lo[t, $i] = r; if (!((t, $i) in hi) || r > hi[t, $i]) hi[t, $i] = r;
      if (!(t in seen_t)) { seen_t[t] = 1; ts[++nt] = t } if (!($i in seen)) { seen[$i] = 1; order[++nn] = $i } } }
  END { for (k = 1; k <= nt; ++k) { t = ts[k]; printf "\n%s frames, %d rounds: mean clips/s, total vs %s, per-round range\n", t, n[t, first], first;
      for (j = 1; j <= nn; ++j) { b = order[j];
        printf "  %-16s %7.2f  %5.2fx  %5.2f-%5.2fx\n", b, v[t, b] / n[t, b], v[t, b] / v[t, first], lo[t, b], hi[t, b] } } }' "$results"
