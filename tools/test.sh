#!/usr/bin/env bash
# The README's test command: install what is missing, build, run the whole test suite.
# Distributed support is required here (-DVIFI_DISTRIBUTED=ON): without Gloo the build fails,
# and the multi-rank tests fail instead of skipping. The decoding code's tests run a second time
# under ASan + UBSan (-DVIFI_SANITIZE=ON, label `sanitize`), and the reader is fuzzed for
# VIFI_FUZZ_SECONDS (default 60; 0 skips) from its seed corpus (tools/fuzz.sh). `vifi serve`'s
# page is checked in Debian's headless Chromium (tools/browser). A unity build compiles each
# target's files in batches (docs/testing.md): on 2 cores a clean build is the bulk of CI's time,
# and most of each translation unit's time was loading LibTorch's precompiled header.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh --with-python  # the export tests open vifi's files with Python's PyTorch
tools/build.sh -DVIFI_WERROR=ON -DVIFI_DISTRIBUTED=ON -DVIFI_SANITIZE=ON -DCMAKE_UNITY_BUILD=ON
tools/browser/install.sh || echo "test: browser tools not installed; serve_page_browser will skip"  # Chromium + playwright-core
ctest --test-dir build -j "$(nproc)" --output-on-failure --timeout 900
fuzz_seconds=${VIFI_FUZZ_SECONDS:-60}
if ((fuzz_seconds > 0)); then tools/fuzz.sh "$fuzz_seconds"; fi
