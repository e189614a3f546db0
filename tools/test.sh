#!/usr/bin/env bash
# The README's test command: install what is missing, build, run the whole test suite.
# Distributed support is required here (-DVIFI_DISTRIBUTED=ON): without Gloo the build fails,
# and the multi-rank tests fail instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh -DVIFI_WERROR=ON -DVIFI_DISTRIBUTED=ON
ctest --test-dir build -j "$(nproc)" --output-on-failure --timeout 900
