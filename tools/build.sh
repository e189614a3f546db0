#!/usr/bin/env bash
# Installs missing dependencies, then configures and builds vifi in ./build (Release, Ninja).
# Usage: tools/build.sh [extra cmake args]
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j "$(nproc)"
