#!/usr/bin/env bash
# ctest `serve_page_browser`: `vifi serve`'s page in headless Chromium on the demo's model (ctest's
# shared one, VIFI_DEMO_MODEL, else it trains its own in about 20 s), indexes its validation videos, starts the server on a free loopback port,
# then serve_page.mjs uploads a video, waits for the top-k table and the rollout image, and
# searches. Passes when the page shows `vifi predict`'s top label and the search's best hit is of
# the searched class. Exit 77 (skip) without Chromium or playwright-core (tools/browser/install.sh).
# Usage: tools/browser/check-serve-page.sh VIFI_BINARY [SCREENSHOT.png]
set -euo pipefail
vifi=$1
here=$(cd "$(dirname "$0")" && pwd)
[[ -x ${CHROMIUM:-/usr/bin/chromium} ]] || { echo "skip: no Chromium (run tools/browser/install.sh)"; exit 77; }
[[ -d $here/node_modules/playwright-core ]] || { echo "skip: no playwright-core (run tools/browser/install.sh)"; exit 77; }
work=$(mktemp -d)
shot=${2:-$work/page.png}
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

demo=${VIFI_DEMO_MODEL:-}  # ctest's shared demo model, when it made one
if [[ -z $demo || ! -f $demo/run/best.pth ]]; then
  demo=$work/demo
  "$vifi" demo --out "$demo" --threads 2 >"$work/demo.log" 2>&1 || { cat "$work/demo.log"; exit 1; }
fi
weights=$demo/run/best.pth labels=$demo/data/labels.csv
"$vifi" index --videos-from "$demo/data/val.txt" --weights "$weights" --out "$work/index" >"$work/index.log" 2>&1 ||
  { cat "$work/index.log"; exit 1; }
"$vifi" serve --weights "$weights" --label-file "$labels" --index "$work/index" --port 0 >"$work/serve.out" 2>"$work/serve.log" &
pid=$!
for _ in $(seq 1 600); do grep -q "listening on" "$work/serve.out" && break; sleep 0.1; done
port=$(sed -n 's|.*http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$work/serve.out")
[[ -n $port ]] || { echo "the server did not start:"; cat "$work/serve.log"; exit 1; }

video=$demo/data/videos/moving_up_red_square/0040.avi
expected=$("$vifi" predict "$video" --weights "$weights" --label-file "$labels" --frames 8 --topk 1 --json 2>/dev/null |
  sed -n 's/.*"top":\[{"label":"\([^"]*\)".*/\1/p')
result=$(node "$here/serve_page.mjs" "http://127.0.0.1:$port/" "$video" "moving up red square" "$shot")
echo "page: $result"
echo "vifi predict's top label: $expected"
node -e '
  const r = JSON.parse(process.argv[1]), expected = process.argv[2];
  const fail = (m) => { console.error("FAIL: " + m); process.exit(1); };
  if (r.top.length < 1 || r.top[0][0] !== expected) fail("the page shows " + JSON.stringify(r.top[0]) + ", vifi predict " + expected);
  if (!(r.rollout[0] > 0 && r.rollout[1] > 0)) fail("no rollout image");
  if (!r.hits.length || !r.hits[0].includes("/moving_up_red_square/")) fail("best hit " + r.hits[0] + " is not a red square video");
  console.log("PASS: top label, rollout " + r.rollout.join("x") + ", " + r.hits.length + " search hits");
' "$result" "$expected"
[[ $(head -c 8 "$shot" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || { echo "FAIL: no PNG screenshot"; exit 1; }
