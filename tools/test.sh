#!/usr/bin/env bash
# The README's test command: install what is missing, build, run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh -DVIFI_WERROR=ON
ctest --test-dir build -j "$(nproc)" --output-on-failure --timeout 900
