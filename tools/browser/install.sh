#!/usr/bin/env bash
# What the browser check (check-serve-page.sh) needs: Debian's Chromium and playwright-core from
# the npm registry, at the version package-lock.json pins (no browser download: it drives
# /usr/bin/chromium). Skips what is present. As root, or with sudo.
set -euo pipefail
cd "$(dirname "$0")"
if ! dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "install ok installed" || ! command -v npm >/dev/null; then
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  echo "browser: installing chromium and npm"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  pkgs=(chromium)
  command -v npm >/dev/null || pkgs+=(npm)
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
[[ -d node_modules/playwright-core ]] || npm ci --no-audit --no-fund --loglevel=error
echo "browser: chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'), playwright-core $(node -p 'require("./node_modules/playwright-core/package.json").version')"
