#!/usr/bin/env bash
# Regenerates the README's figures in docs/images/ from the synthetic demo set: the demo run
# (vifi demo), its training curves (vifi plot), a t-SNE of the validation videos' embeddings
# (vifi embed --plot), attention rollout after 1 epoch vs after fine-tuning (vifi explain) and a
# prediction (vifi predict). Usage: tools/make-figures.sh [OUT] (default out/figures); VIFI
# names the binary (default build/vifi).
set -euo pipefail
cd "$(dirname "$0")/.."
VIFI=${VIFI:-build/vifi}
OUT=${1:-out/figures}
DEMO=$OUT/demo
VIDEO=$DEMO/data/videos/moving_up_red_square/0040.avi

[ -f "$DEMO/run/best.pth" ] || "$VIFI" demo --out "$DEMO"
"$VIFI" plot "$DEMO/run" --out "$OUT/plots"
"$VIFI" embed --weights "$DEMO/run/best.pth" --videos-from "$DEMO/data/val.txt" \
  --label-file "$DEMO/data/labels.csv" --frames 8 --plot --out "$OUT/embed"
"$VIFI" explain "$VIDEO" --weights "$DEMO/run/ckpt_epoch_0.pth" --weights "$DEMO/run/best.pth" \
  --names "1 epoch,fine-tuned" --label "moving up red square" --frames 6 --size 96 --out "$OUT/explain"
"$VIFI" predict "$VIDEO" --weights "$DEMO/run/best.pth" --label-file "$DEMO/data/labels.csv" --topk 3 \
  | tee "$OUT/predict.txt"

mkdir -p docs/images
cp "$OUT/plots/curves.png" docs/images/training_curves.png
cp "$OUT/embed/tsne.png" docs/images/tsne.png
cp "$OUT/explain/grid.png" docs/images/explain_grid.png
ls -l docs/images
