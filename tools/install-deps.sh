#!/usr/bin/env bash
# Installs what vifi needs on Debian 12 and skips what is already there.
# Usage: tools/install-deps.sh [--with-python]   (as root, or with sudo available)
#   --with-python also installs Debian's PyTorch for the Python sides of the tests and tools
#   (tools/check_export.py, tools/bench/reference.py, the fixture generators); tools/test.sh uses it.
# ffmpeg (the CLI) is the tests' oracle for decoded frames; clang and its runtime build the
# reader's fuzz target (tools/fuzz.sh, libFuzzer).
set -euo pipefail

packages=(
  cmake g++ ninja-build pkg-config zlib1g-dev
  libtorch-dev libgloo-dev libopenblas0-pthread
  libyaml-cpp-dev libspdlog-dev libcli11-dev nlohmann-json3-dev libgtest-dev libcpp-httplib-dev
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  ffmpeg clang libclang-rt-14-dev
)
[[ "${1:-}" == "--with-python" ]] && packages+=(python3-torch python3-numpy python3-regex python3-packaging)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
[[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
