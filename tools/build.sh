#!/usr/bin/env bash
# Installs missing dependencies, then configures and builds vifi in ./build (Release, Ninja),
# showing ninja's [done/total] progress. VIFI_BUILD_TARGET=vifi builds one target (the demo's
# binary) instead of everything.
# Usage: [VIFI_BUILD_TARGET=T] tools/build.sh [extra cmake args]
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
echo "build: compiling ${VIFI_BUILD_TARGET:-everything} on $(nproc) cores (progress: [done/total])"
cmake --build build -j "$(nproc)" ${VIFI_BUILD_TARGET:+--target "$VIFI_BUILD_TARGET"}
