#!/usr/bin/env bash
# The GPU proof of issue 18, as one prepared command for a machine that has a pip PyTorch 2.x
# but no apt (no FFmpeg/OpenCV headers): builds vifi_core, the `core` tests and vifi_bench
# against that PyTorch's LibTorch, runs `ctest -L core` (tests/test_cuda.cpp runs there instead
# of skipping), fits ViT-B/16 in bf16 through the real Trainer on synthetic batches, interrupted
# and resumed (`vifi_bench fit`), and runs the benchmark pairs against eager PyTorch
# (tools/bench/compare.sh). Ends with one summary table; exit 1 if any stage failed.
# Budget: under 8 minutes on one H100/H200 with 16 cores.
#
#   tools/gpu-check.sh --pack   on the development machine (Debian): copies what a bare GPU machine
#                               lacks (GoogleTest sources, nlohmann/json.hpp, zlib.h) to .gpu-deps/
#   tools/gpu-check.sh          on the GPU machine (env: PYTHON=python3, BUILD_DIR=build-gpu,
#                               FIT_STEPS=300, SKIP_BENCH=1 to leave out the benchmark pairs)
# Device tool: run(command="tools/gpu-check.sh 2>&1 | tee $OUT/gpu-check.log", carry=[".gpu-deps"]).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
deps=$root/.gpu-deps

if [[ "${1:-}" == "--pack" ]]; then
  set -e
  rm -rf "$deps" && mkdir -p "$deps/include/nlohmann" "$deps/zlib"
  cp -r /usr/src/googletest "$deps/googletest"
  cp /usr/include/nlohmann/json.hpp /usr/include/nlohmann/json_fwd.hpp "$deps/include/nlohmann/"
  cp /usr/include/zlib.h /usr/include/zconf.h "$deps/zlib/"
  du -sh "$deps"
  exit 0
fi

python=${PYTHON:-python3}
build=${BUILD_DIR:-$root/build-gpu}
fit_steps=${FIT_STEPS:-300}
jobs=$(nproc)
summary=()
failed=0
step() { echo; echo "== $* ($(date -u +%H:%M:%S))"; }
record() {  # record STAGE RESULT DETAIL
  summary+=("$(printf '| %-34s | %-4s | %s |' "$1" "$2" "$3")")
  [[ "$2" == FAIL ]] && failed=1
  return 0
}

step "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
"$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))' ||
  { echo "gpu-check: no PyTorch with CUDA in $python"; exit 1; }
versions=$("$python" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)')
prefix=$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')
# Newer PyTorch headers need C++20; vifi is C++17 code that also compiles as C++20.
std=$("$python" -c 'import torch; v = tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:2]); print(20 if v >= (2, 10) else 17)')
generator="Unix Makefiles"
command -v ninja >/dev/null && generator=Ninja

# What a bare machine lacks comes from .gpu-deps (tools/gpu-check.sh --pack).
extra=()
[[ -d /usr/src/googletest ]] || extra+=(-DVIFI_GTEST_SOURCE_DIR="$deps/googletest")
[[ -f /usr/include/nlohmann/json.hpp ]] || extra+=(-DVIFI_JSON_INCLUDE_DIR="$deps/include")
if [[ ! -f /usr/include/zlib.h && -f "$deps/zlib/zlib.h" ]]; then
  libz=$(ldconfig -p | sed -n 's/.*libz\.so\.1 .*=> \(.*\)/\1/p' | head -1)
  [[ -n "$libz" ]] && extra+=(-DZLIB_INCLUDE_DIR="$deps/zlib" -DZLIB_LIBRARY="$libz")
fi

configure() {  # configure CUDA_STATS(ON|OFF)
  cmake -S "$root" -B "$build" -G "$generator" -DCMAKE_BUILD_TYPE=Release -DVIFI_CORE_ONLY=ON \
    -DVIFI_BUILD_TESTS=ON -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_STANDARD="$std" \
    -DVIFI_CUDA_STATS="$1" "${extra[@]}" >"$build.cmake.log" 2>&1
}
step "build vifi_core, core tests, vifi_bench (C++$std, $generator, $jobs jobs)"
start=$SECONDS
if ! { configure ON && cmake --build "$build" -j "$jobs" >"$build.build.log" 2>&1; }; then
  step "retry without CUDA memory statistics"
  rm -rf "$build"
  if ! { configure OFF && cmake --build "$build" -j "$jobs" >"$build.build.log" 2>&1; }; then
    tail -30 "$build.cmake.log"; grep -m20 -B2 -A8 'error' "$build.build.log"
    record "build (core, tests, bench)" FAIL "see $build.build.log"
    printf '%s\n' "${summary[@]}"; exit 1
  fi
fi
record "build (core, tests, bench)" PASS "$((SECONDS - start)) s, C++$std, $versions"

step "ctest -L core (CUDA variants on)"
start=$SECONDS
ctest --test-dir "$build" -L core -j 4 --output-on-failure --timeout 300 >"$build.ctest.log" 2>&1
rc=$?
tail -15 "$build.ctest.log"
cuda_cases=$("$build/tests/vifi_tests_core" --gtest_filter='Cuda.*' 2>&1 | tee "$build.test_cuda.log" | grep -c '^\[       OK \]' || true)
skipped=$(grep -c '^\[  SKIPPED \]' "$build.test_cuda.log" || true)
grep -E 'bf16 vs fp32|mean \|param' "$build.test_cuda.log" || true
record "ctest -L core" "$([[ $rc -eq 0 ]] && echo PASS || echo FAIL)" \
  "$(grep -m1 'tests passed' "$build.ctest.log"), $((SECONDS - start)) s"
record "CUDA test cases (tests/test_cuda)" "$([[ $cuda_cases -gt 0 && $skipped -eq 0 ]] && echo PASS || echo FAIL)" \
  "$cuda_cases passed, $skipped skipped"

step "fit: ViT-B/16 bf16, real Trainer, interrupted and resumed ($fit_steps micro-batches)"
fit=$(timeout 240 "$build/vifi_bench" fit --arch ViT-B/16 --device cuda --batch 8 --accumulation 2 --frames 8 \
  --steps "$fit_steps" --lr 1e-4 --out "$build/fit-check" 2>&1)
rc=$?
echo "$fit" | tail -25
line=$(grep '^fit ' <<<"$fit")
record "fit + resume (ViT-B/16, bf16)" "$([[ $rc -eq 0 ]] && echo PASS || echo FAIL)" \
  "$(sed 's/^fit arch=[^ ]* device=[^ ]* //' <<<"${line:-no result line}")"

if [[ "${SKIP_BENCH:-0}" != 1 ]]; then
  bin=$build/vifi_bench
  pair() {  # pair LABEL FLAGS...
    local label=$1; shift
    local out
    out=$(timeout 150 "$root/tools/bench/compare.sh" --bin "$bin" --python "$python" "$@" 2>&1)
    echo "$out"
    local ratio
    ratio=$(sed -n 's/^RATIO .*vifi\/reference=\([0-9.]*\)x.*/\1/p' <<<"$out")
    record "$label" "$([[ -n "$ratio" ]] && echo INFO || echo FAIL)" "vifi/eager ${ratio:-?}x $(grep -m1 GEMM_FRACTION <<<"$out")"
  }
  step "benchmark pairs (vifi vs eager PyTorch, same shapes, same run)"
  pair "inference 16x8 bf16" --gemm -- --device cuda --dtype bf16 --frames 16 --batch 8 --iters 20 --warmup 5
  pair "inference 8x8 bf16" -- --device cuda --dtype bf16 --frames 8 --batch 8 --iters 20 --warmup 5
  pair "train step 8x8, 400 classes, bf16" --gemm -- --train --device cuda --dtype bf16 --frames 8 --batch 8 --iters 10 --warmup 3
  pair "train step 16x8, 400 classes, bf16" -- --train --device cuda --dtype bf16 --frames 8 --batch 16 --iters 10 --warmup 3
  pair "inference 16x8 fp32" -- --device cuda --dtype fp32 --frames 16 --batch 8 --iters 10 --warmup 3
  pair "train step 8x1, 400 classes, fp32" -- --train --device cuda --dtype fp32 --frames 8 --batch 1 --iters 10 --warmup 3
fi

step "summary"
echo "| stage | result | detail |"
echo "| --- | --- | --- |"
printf '%s\n' "${summary[@]}"
exit $failed
