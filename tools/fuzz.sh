#!/usr/bin/env bash
# Fuzzes the video reader (fuzz/video_reader_fuzzer.cpp) with libFuzzer under ASan + UBSan,
# starting from the seed corpus fuzz/corpus, then replays every input without ASan under glibc's
# heap checks; then the safetensors parser (fuzz/safetensors_fuzzer.cpp, seeds in
# fuzz/corpus-safetensors) and the torch.save checkpoint reader (fuzz/torch_checkpoint_fuzzer.cpp,
# seeds in fuzz/corpus-torch_checkpoint) for half as long each, and the frame-numbering store's
# entries (fuzz/numbering_entry_fuzzer.cpp, seeds in fuzz/corpus-numbering_entry), the .npy
# reader (fuzz/npy_fuzzer.cpp, seeds in fuzz/corpus-npy), the tokenizer (fuzz/tokenizer_fuzzer.cpp,
# seeds in fuzz/corpus-tokenizer), the dataset text files (fuzz/dataset_lists_fuzzer.cpp, seeds
# in fuzz/corpus-dataset_lists) and config files (fuzz/config_yaml_fuzzer.cpp, seeds in
# fuzz/corpus-config_yaml) for a quarter each.
# CI runs it for a bounded time; run it longer on demand. A crash, leak or sanitizer report fails
# the run and leaves the input as build-fuzz/findings/crash-* (or leak-*, timeout-*;
# <parser>-* for the parsers): add it to tests/fixtures/fuzz and a test. Leaks inside LibTorch
# itself are suppressed (fuzz/lsan.supp says which and why).
# Usage: tools/fuzz.sh [seconds=60] [jobs=1]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
jobs=${2:-1}
command -v clang++ >/dev/null || { echo "fuzz: clang++ is missing (tools/install-deps.sh installs it)" >&2; exit 1; }
cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build build-fuzz
mkdir -p build-fuzz/corpus build-fuzz/findings
# Inputs the fuzzer grows are kept in build-fuzz/corpus; the committed seeds stay read-only.
# With several jobs libFuzzer forks workers that log to fuzz-<n>.log in the working directory.
parallel=()
((jobs > 1)) && parallel=(-jobs="$jobs" -workers="$jobs")
rm -f build-fuzz/fuzz-*.log
set +e
(cd build-fuzz && ASAN_OPTIONS=abort_on_error=0 ./video_reader_fuzzer corpus ../fuzz/corpus \
  -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -max_len=262144 -print_final_stats=1 \
  "${parallel[@]}" -artifact_prefix=findings/) > build-fuzz/fuzz.log 2>&1
status=$?
set -e
shopt -s nullglob
logs=(build-fuzz/fuzz.log build-fuzz/fuzz-*.log)
grep -hE "^#[0-9]+[[:space:]]+(INITED|DONE)|ERROR|SUMMARY|stat::number_of_executed_units|stat::peak_rss|Test unit written" \
  "${logs[@]}" || true
# Replay every input without ASan under glibc's heap checks (see fuzz/CMakeLists.txt); libFuzzer
# runs the files given in turn and stops at the first that fails.
inputs=(build-fuzz/corpus/* fuzz/corpus/*)
replayed=${#inputs[@]}
if ! LD_PRELOAD=libc_malloc_debug.so.0 GLIBC_TUNABLES=glibc.malloc.check=3 \
    build-fuzz/video_reader_replay "${inputs[@]}" >build-fuzz/replay.log 2>&1; then
  failing=$(grep -oE "^Running: .*" build-fuzz/replay.log | tail -1 | cut -d' ' -f2-)
  [[ -f $failing ]] && cp "$failing" build-fuzz/findings/heap-"$(basename "$failing")"
  echo "fuzz: $failing breaks glibc's heap checks:" >&2
  tail -5 build-fuzz/replay.log >&2
  status=1
fi
echo "fuzz: replayed $replayed inputs under glibc's heap checks"
runs=$({ grep -hoE "stat::number_of_executed_units: [0-9]+" "${logs[@]}" || true; } | awk '{s += $2} END {print s + 0}')
echo "fuzz: $runs inputs in ${seconds}s, corpus $(ls build-fuzz/corpus | wc -l) files, exit $status"

# A parser's fuzzer: fuzz_parser NAME SECONDS MAX_LEN LABEL runs build-fuzz/NAME_fuzzer on
# build-fuzz/corpus-NAME (grown) and fuzz/corpus-NAME (the committed seeds); findings are
# build-fuzz/findings/NAME-*.
fuzz_parser() {
  local name=$1 secs=$2 max_len=$3 label=$4 rc
  mkdir -p build-fuzz/corpus-"$name"
  set +e
  (cd build-fuzz && ASAN_OPTIONS=abort_on_error=0 LSAN_OPTIONS=suppressions=../fuzz/lsan.supp ./"$name"_fuzzer corpus-"$name" ../fuzz/corpus-"$name" \
    -max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 -max_len="$max_len" -print_final_stats=1 \
    -artifact_prefix=findings/"$name"-) > build-fuzz/fuzz-"$name".log 2>&1
  rc=$?
  set -e
  grep -hE "^#[0-9]+[[:space:]]+(INITED|DONE)|ERROR|SUMMARY|${name}_fuzzer:|Test unit written" build-fuzz/fuzz-"$name".log || true
  local n
  n=$(grep -oE "stat::number_of_executed_units: [0-9]+" build-fuzz/fuzz-"$name".log | awk '{s += $2} END {print s + 0}')
  echo "fuzz: $label: $n inputs in ${secs}s, corpus $(ls build-fuzz/corpus-"$name" | wc -l) files, exit $rc"
  ((rc == 0)) || status=$rc
}

# The safetensors parser: what parses must write back and parse to the same tensors.
fuzz_parser safetensors $(( (seconds + 1) / 2 )) 65536 "safetensors parser"
# torch.save checkpoints: pickles and whole archives, read as released checkpoints are.
fuzz_parser torch_checkpoint $(( (seconds + 1) / 2 )) 65536 "torch.save checkpoints"
# The frame-numbering store's entries (the harness appends each input's checksum).
fuzz_parser numbering_entry $(( (seconds + 3) / 4 )) 16384 "numbering entries"
# .npy arrays (embed --videos inputs, search-index features).
fuzz_parser npy $(( (seconds + 3) / 4 )) 4096 ".npy reader"
# Text: class names from users' files, search queries from the network.
fuzz_parser tokenizer $(( (seconds + 3) / 4 )) 4096 "tokenizer"
# Annotation lists and label CSVs as datasets ship them.
fuzz_parser dataset_lists $(( (seconds + 3) / 4 )) 4096 "dataset lists"
# Config files and --opts pairs: what loads must write back (to_yaml) and load the same.
fuzz_parser config_yaml $(( (seconds + 3) / 4 )) 4096 "config files"
findings=(build-fuzz/findings/*)
if ((status != 0 || ${#findings[@]} > 0)); then
  echo "fuzz: FINDINGS in build-fuzz/findings:" >&2
  ls -la build-fuzz/findings >&2
  exit 1
fi
