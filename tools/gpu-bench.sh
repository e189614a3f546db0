#!/usr/bin/env bash
# One go on a GPU machine that has PyTorch 2.x but none of Debian's -dev packages: builds
# vifi_core + vifi_bench against PyTorch's own LibTorch (-DVIFI_CORE_ONLY=ON), then runs the
# model benchmark against tools/bench/reference.py on CUDA with bf16 autocast (inference and a
# training step) and the GEMM rate. Budget: under 8 minutes on one H100/H200 with 16 cores.
#   tools/gpu-bench.sh              (env: PYTHON=python3, BUILD_DIR=build-gpu, DTYPE=bf16)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
build=${BUILD_DIR:-$root/build-gpu}
dtype=${DTYPE:-bf16}
jobs=$(nproc)
step() { echo; echo "== $* ($(date -u +%H:%M:%S))"; }

step "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
"$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'
command -v cmake g++ ninja || true
prefix=$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')
# Newer PyTorch headers need C++20; vifi is C++17 code that also compiles as C++20.
std=$("$python" -c 'import torch; v = tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:2]); print(20 if v >= (2, 10) else 17)')
generator="Unix Makefiles"
command -v ninja >/dev/null && generator=Ninja

build_bench() {  # build_bench STATS(ON|OFF)
  cmake -S "$root" -B "$build" -G "$generator" -DCMAKE_BUILD_TYPE=Release -DVIFI_CORE_ONLY=ON \
    -DVIFI_BUILD_TESTS=OFF -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_STANDARD="$std" \
    -DVIFI_CUDA_STATS="$1" >"$build.cmake.log" 2>&1 || { tail -40 "$build.cmake.log"; return 1; }
  cmake --build "$build" --target vifi_bench -j "$jobs" >"$build.build.log" 2>&1 || { grep -m20 -B2 -A8 'error' "$build.build.log"; return 1; }
}

step "build vifi_bench (C++$std, $generator, $jobs jobs)"
if ! build_bench ON; then
  step "retry without CUDA memory statistics"
  rm -rf "$build"
  build_bench OFF || { echo "gpu-bench: build failed"; exit 1; }
fi
bin=$build/vifi_bench
compare() { timeout 150 "$root/tools/bench/compare.sh" --bin "$bin" --python "$python" "$@" || echo "(compare failed: $*)"; }

step "GEMM rate"
timeout 60 "$bin" gemm --device cuda --dtype "$dtype" --iters 20 --warmup 5 || true
timeout 60 "$bin" gemm --device cuda --dtype fp32 --iters 10 --warmup 3 || true
step "inference, ViT-B/16, 16 frames x 8 clips, $dtype"
compare --gemm -- --device cuda --dtype "$dtype" --frames 16 --batch 8 --iters 20 --warmup 5
step "training step, ViT-B/16, 8 frames x 8 clips, 400 classes, $dtype"
compare --gemm -- --train --device cuda --dtype "$dtype" --frames 8 --batch 8 --iters 10 --warmup 3
step "training step, ViT-B/16, 8 frames x 1 clip, 400 classes, fp32"
compare -- --train --device cuda --dtype fp32 --frames 8 --batch 1 --iters 10 --warmup 3
step "done"
