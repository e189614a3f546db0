#!/usr/bin/env bash
# Runs a test binary as user nobody, for the cases about files the kernel refuses to open: CI runs
# as root, and root reads every folder whatever its mode, so those cases would only ever skip.
# The binary is copied to a folder nobody may enter (the build folder may be below a home folder
# that nobody may not); run by another user, it runs the binary as it is.
#   tools/run-unprivileged.sh BINARY [ARGS...]
set -euo pipefail
binary=$1
shift
if [[ $(id -u) -ne 0 ]]; then exec "$binary" "$@"; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
mkdir -m 1777 "$work/tmp"
cp "$binary" "$work/test-binary"
chmod 755 "$work/test-binary"
cd "$work/tmp"
TMPDIR="$work/tmp" XDG_CACHE_HOME="$work/tmp" setpriv --reuid=65534 --regid=65534 --clear-groups \
  "$work/test-binary" "$@"
