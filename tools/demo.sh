#!/usr/bin/env bash
# The README's first command: install what is missing, build vifi, run the main job (vifi demo:
# synthetic videos, vanilla vs ViFi-CLIP fine-tuned accuracy). Extra arguments go to vifi demo,
# e.g. tools/demo.sh --weights ViT-B-16.pt
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh
build/vifi demo --out "${VIFI_DEMO_OUT:-out/demo}" "$@"
