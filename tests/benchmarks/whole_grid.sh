#!/usr/bin/env bash
# The whole default grid as a user runs it offline (config.yaml + config/offline.yaml on the shared corpora), from
# empty results, resumable: rerun the same command and Snakemake carries on where it stopped.
#
#   tests/benchmarks/whole_grid.sh [COMMIT] [DATA_ROOT] [CORES]     (defaults: HEAD, ../shared/data, 2)
#
# It runs in a checkout of COMMIT under results/grid/<commit>/ (git-ignored), with that checkout's own code on
# PYTHONPATH, so that work on the tree meanwhile neither reruns its jobs nor mixes code into it. Each start is
# appended to results/grid/<commit>/runs; Snakemake's log and GNU time's totals go to results/grid/<commit>/*.log;
# the per-rule CPU is in the checkout's results/benchmarks (read with tests/benchmarks/grid_cost.py).
set -euo pipefail
repo=$(git rev-parse --show-toplevel)
commit=$(git -C "$repo" rev-parse --short "${1:-HEAD}")
data=$(cd "${2:-$repo/../shared/data}" && pwd)
cores=${3:-2}
grid="$repo/results/grid/$commit"
if [ ! -d "$grid/tree" ]; then
    mkdir -p "$grid/tree"
    git -C "$repo" archive "$commit" | tar -x -C "$grid/tree"
fi
# shellcheck disable=SC1091
. "$repo/.venv/bin/activate"
export PYTHONPATH="$grid/tree/src" HF_HUB_OFFLINE=1 HF_HUB_CACHE="${HF_HUB_CACHE:-$(cd "$repo/../shared/hf-hub" && pwd)}"
cd "$grid/tree"
run=$(($(if [ -f "$grid/runs" ]; then wc -l < "$grid/runs"; else echo 0; fi) + 1))
echo "run $run start $(date -Is) cores $cores" >> "$grid/runs"
snakemake --unlock --configfile config.yaml config/offline.yaml --config data_root="$data" > /dev/null
/usr/bin/time -v -o "$grid/time$run.log" snakemake --cores "$cores" all --rerun-incomplete \
    --configfile config.yaml config/offline.yaml --config data_root="$data" > "$grid/snakemake$run.log" 2>&1
echo "run $run end $(date -Is)" >> "$grid/runs"
