#!/usr/bin/env bash
# Golden files for `vifi export --format openai`, made by OpenAI's own code: the authors'
# tiny fine-tuned checkpoint (tests/fixtures/vificlip_ref/finetuned.pth) is exported by vifi,
# built by clip.model.build_model from a checkout of github.com/openai/CLIP, and that model's
# video features (frames averaged), prompt features and logits are stored in
# tests/fixtures/openai_export. tests/test_export_command.cpp checks that vifi's export, read
# back by vifi, gives them. The script fails unless vifi's own features already agree (1e-5).
# Needs Debian's python3-torch, python3-numpy, python3-regex and python3-packaging
# (tools/install-deps.sh --with-python).
# Usage: tools/make_export_fixtures.sh /path/to/openai-CLIP [build/vifi]
set -euo pipefail
cd "$(dirname "$0")/.."
clip_checkout=${1:?usage: tools/make_export_fixtures.sh /path/to/openai-CLIP [build/vifi]}
vifi=${2:-build/vifi}
out=tests/fixtures/openai_export
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fixtures=tests/fixtures
"$vifi" export --weights $fixtures/vificlip_ref/finetuned.pth --clip $fixtures/clip_tiny/clip_tiny.pt \
  --format openai --out "$tmp/finetuned_openai.pt"
"$vifi" embed --weights "$tmp/finetuned_openai.pt" --videos $fixtures/clip_tiny/video.npy \
  --classes $fixtures/vificlip_ref/classes.txt --out "$tmp/embed"
mkdir -p "$out"
/usr/bin/python3 tools/check_export.py build-model "$tmp/finetuned_openai.pt" --openai-clip "$clip_checkout" \
  --embed "$tmp/embed" --videos $fixtures/clip_tiny/video.npy --save "$out"
echo "openai/CLIP $(git -C "$clip_checkout" rev-parse --short HEAD 2>/dev/null || echo "(not a git checkout)")" > "$out/SOURCE"
echo "wrote $out"
