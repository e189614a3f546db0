#!/usr/bin/env bash
# Checks that the per-file ctest tests of a test binary (tests/CMakeLists.txt: one --gtest_filter
# per test file) run every case of the binary exactly once: a suite the filters miss would pass
# unseen, one matched twice would run twice.
# Usage: tools/check-test-filters.sh BINARY FILTER...
set -euo pipefail
binary=$1
shift

# The cases --gtest_list_tests prints, as Suite.Case lines (it prints "Suite." then "  Case").
# One listing, matched here against each filter as GoogleTest matches them (':'-separated
# patterns, '*' and '?' wildcards): a process per filter would load LibTorch once per file.
mapfile -t all < <("$binary" --gtest_list_tests | awk '
  /^[^ ]/ { suite = $1; next }
  /^  / { print suite $1 }')
((${#all[@]} > 0)) || { echo "check-test-filters: $binary lists no test cases" >&2; exit 1; }
missed=()
twice=()
for case in "${all[@]}"; do
  runs=0
  for filter in "$@"; do
    IFS=: read -ra patterns <<<"$filter"
    for pattern in "${patterns[@]}"; do
      # shellcheck disable=SC2053  # the pattern is a glob on purpose
      if [[ $case == $pattern ]]; then
        runs=$((runs + 1))
        break
      fi
    done
  done
  ((runs == 0)) && missed+=("$case")
  ((runs > 1)) && twice+=("$case")
done
if ((${#missed[@]} || ${#twice[@]})); then
  ((${#missed[@]} == 0)) || printf 'check-test-filters: %s: no per-file test runs\n%s\n' "$binary" "$(printf '%s\n' "${missed[@]}")" >&2
  ((${#twice[@]} == 0)) || printf 'check-test-filters: %s: run by two per-file tests\n%s\n' "$binary" "$(printf '%s\n' "${twice[@]}")" >&2
  exit 1
fi
echo "check-test-filters: $(basename "$binary"): $# files' filters run each of its ${#all[@]} cases once"
