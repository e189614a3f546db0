#!/usr/bin/env bash
# Writes the video reader fuzzer's seed corpus (fuzz/corpus): one small file of every kind of
# input issue 14 lists, made with the FFmpeg CLI (Debian's ffmpeg). Reproducible; the files are
# committed so CI needs no CLI to fuzz. Usage: tools/make-fuzz-seeds.sh [out_dir]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-fuzz/corpus}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ff() { ffmpeg -v error -y "$@"; }
src() { echo "testsrc=s=$1:r=25:d=$2"; }

# Containers and codecs the datasets ship.
ff -f lavfi -i "$(src 32x24 0.6)" -c:v mpeg4 -g 6 "$out/mpeg4.avi"
ff -f lavfi -i "$(src 32x24 0.6)" -c:v mpeg4 -bf 2 -g 6 "$out/mpeg4_bframes.avi"
# XviD with B-frames packs them into AVI as HMDB-51's and UCF-101's files do.
ff -f lavfi -i "$(src 32x24 0.6)" -c:v libxvid -bf 2 -g 6 "$out/xvid_packed.avi"
ff -f lavfi -i "$(src 32x24 0.6)" -c:v libx264 -bf 3 -g 6 -movflags +faststart "$out/h264.mp4"
ff -f lavfi -i "$(src 32x24 0.6)" -c:v libx264 -bf 3 -g 6 "$out/h264_bframes.avi"
ff -f lavfi -i "$(src 32x24 0.6)" -c:v libvpx-vp9 -g 6 -deadline realtime "$out/vp9.webm"
ff -f lavfi -i "$(src 32x24 0.6)" -c:v libx264 -g 6 -x264-params open-gop=1 "$out/h264_opengop.mkv"
ff -f lavfi -i "$(src 32x24 0.4)" -c:v gif "$out/anim.gif"
# Picture size changing mid-stream, to a tiny size.
ff -f lavfi -i "$(src 34x26 0.4)" -c:v libx264 -bf 0 -f mpegts "$tmp/a.ts"
ff -f lavfi -i "$(src 10x8 0.4)" -c:v libx264 -bf 0 -output_ts_offset 0.4 -f mpegts "$tmp/b.ts"
cat "$tmp/a.ts" "$tmp/b.ts" > "$out/reschange.ts"
# Display rotation (display matrix).
ff -f lavfi -i "$(src 32x24 0.3)" -c:v libx264 -metadata:s:v rotate=90 "$out/rotated.mp4"
# Damaged middle, cut end, empty.
cp "$out/h264.mp4" "$out/damaged.mp4"
size=$(stat -c %s "$out/damaged.mp4")
dd if=/dev/urandom of="$out/damaged.mp4" bs=1 seek=$((size / 2)) count=256 conv=notrunc status=none
head -c $((size / 2)) "$out/h264.mp4" > "$out/cut.mp4"
cp "$out/mpeg4.avi" "$out/damaged.avi"
size=$(stat -c %s "$out/damaged.avi")
dd if=/dev/urandom of="$out/damaged.avi" bs=1 seek=$((size / 2)) count=256 conv=notrunc status=none
: > "$out/empty.mp4"
ls -la "$out"
