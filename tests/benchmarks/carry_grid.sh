#!/usr/bin/env bash
# Carry a whole-grid run over to a newer commit: its results and Snakemake's records are copied into a checkout of
# NEW under results/grid/<new>/, and every file of that checkout whose bytes are those of OLD's keeps OLD's time, so
# Snakemake reruns only the jobs whose scripts, settings or inputs changed (a script's time is its code trigger).
#
#   tests/benchmarks/carry_grid.sh OLD NEW      then: tests/benchmarks/whole_grid.sh NEW
set -euo pipefail
repo=$(git rev-parse --show-toplevel)
old=$(git -C "$repo" rev-parse --short "$1")
new=$(git -C "$repo" rev-parse --short "$2")
from="$repo/results/grid/$old/tree"
to="$repo/results/grid/$new/tree"
[ -d "$from/results" ] || { echo "carry_grid.sh: no run at $from" >&2; exit 2; }
[ ! -e "$to" ] || { echo "carry_grid.sh: $to exists already" >&2; exit 2; }
mkdir -p "$to"
git -C "$repo" archive "$new" | tar -x -C "$to"
cp -a "$from/results" "$from/.snakemake" "$to/"
rm -rf "$to/.snakemake/scripts" "$to/.snakemake/locks"  # incomplete jobs stay marked: --rerun-incomplete redoes them
kept=0
while IFS= read -r -d '' file; do
    if [ -f "$from/$file" ] && cmp -s "$from/$file" "$to/$file"; then
        touch -r "$from/$file" "$to/$file"
        kept=$((kept + 1))
    fi
done < <(cd "$to" && find . -type f -not -path "./results/*" -not -path "./.snakemake/*" -print0)
echo "carried $old to $new: $kept unchanged files keep their times"
