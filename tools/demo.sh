#!/usr/bin/env bash
# The README's first command: build vifi, then run the main job on the shipped data.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh
out=${VIFI_DEMO_OUT:-out/demo}
fixture=tests/fixtures/clip_tiny
build/vifi embed --weights "$fixture/clip_tiny.pt" --images "$fixture/images.npy" \
  --videos "$fixture/video.npy" --texts "$fixture/texts.txt" --out "$out"
echo "features and logits written to $out:"
ls -l "$out"
