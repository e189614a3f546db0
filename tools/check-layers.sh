#!/usr/bin/env bash
# The include-layer check (ctest: `layers`; docs/design.md draws the diagram). vifi's folders are
# layers, bottom to top; a file under include/vifi/<F>/ or src/<F>/ may include its own folder and
# folders of lower rank, never one above or beside it:
#   util -> config -> clip -> {model, batch, dist} -> data -> {eval, viz} -> train -> bench -> experiment -> cli
# A folder missing from the table is an error too, so a new folder is placed on purpose.
# Usage: tools/check-layers.sh [REPO_ROOT]; prints each violation as FILE:LINE and exits 1.
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "$root"

declare -A rank=(
  [util]=0 [config]=1 [clip]=2 [model]=3 [batch]=3 [dist]=3 [data]=4 [eval]=5 [viz]=5
  [train]=6 [bench]=7 [experiment]=8 [cli]=9
)

dirs=()
for d in include/vifi src; do [[ -d $d ]] && dirs+=("$d"); done
status=0
while IFS= read -r file; do
  folder=$(sed -E 's#^(include/vifi|src)/([^/]+)/.*#\2#' <<<"$file")
  if [[ -z "${rank[$folder]+x}" ]]; then
    echo "$file: folder '$folder' has no layer in tools/check-layers.sh"
    status=1
    continue
  fi
  while IFS=: read -r line target; do
    [[ -z "${rank[$target]+x}" ]] && { echo "$file:$line: includes unknown folder '$target'"; status=1; continue; }
    [[ "$target" == "$folder" ]] && continue
    if ((rank[$target] >= rank[$folder])); then
      echo "$file:$line: $folder (layer ${rank[$folder]}) includes $target (layer ${rank[$target]}): a layer may include only layers below it"
      status=1
    fi
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"(vifi/|\.\./)[^/"]+/' "$file" |
           sed -E 's#^([0-9]+):.*"(vifi/|\.\./)([^/"]+)/.*#\1:\3#')
done < <(find "${dirs[@]}" -type f \( -name '*.h' -o -name '*.cpp' \) | sort)

if ((status == 0)); then
  echo "layers: every include points down ($(find "${dirs[@]}" -type f \( -name '*.h' -o -name '*.cpp' \) | wc -l) files)"
fi
exit $status
