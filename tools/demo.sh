#!/usr/bin/env bash
# The README's first command: install what is missing, build the vifi binary alone (the tests are
# not needed to run it; tools/test.sh builds them), run the main job (vifi demo: synthetic
# videos, vanilla vs ViFi-CLIP fine-tuned accuracy). Extra arguments go to vifi demo, e.g.
#   tools/demo.sh --weights ViT-B-16.pt
set -euo pipefail
cd "$(dirname "$0")/.."
VIFI_BUILD_TARGET=vifi tools/build.sh
build/vifi demo --out "${VIFI_DEMO_OUT:-out/demo}" "$@"
