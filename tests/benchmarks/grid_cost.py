"""Where a grid run's CPU went: per rule, and the quantization study's steps against the training they study.

Reads Snakemake's benchmark files (``results/benchmarks/**.tsv``: ``s`` wall seconds, ``cpu_time`` CPU seconds of
the job) of a run, e.g. the whole grid's (``tests/benchmarks/whole_grid.sh``), and each job's CPU seconds from the
last line of its log (``results/logs/**.log``, :func:`serbench.workflow.logged_cpu`) where it has one: the benchmark
file's ``cpu_time`` is the last of samples taken every 30 s after a job's first 15 s, short of every longer job's
last interval, while the log's line, written before the interpreter exits, misses its teardown (a few tenths of a
second with torch loaded; a job shorter than 15 s is sampled every 0.5 s). ``cpu_s`` is the larger of the two, the
benchmark file's alone for a job whose log has no such line (``from_log`` counts the jobs that have one)::

    python tests/benchmarks/grid_cost.py results/grid/<commit>/tree/results

Prints the CPU and wall seconds of each rule family (the folder under ``benchmarks``, two levels for the
quantization study) and, per feature-model family, the quantize step's and the allocator curves' CPU over the
training CPU of the same cells (only cells where all three have finished); with ``--cells``, also each cell's, the
highest quantize step's ratio first; with ``--start-up``, also those ratios
with each job's start-up taken out (the CPU of importing what its script imports, mean of three interpreters on
this machine, measured now: run it on the machine and day of the grid). With ``--runs results/grid`` it also
lists every run of every checkout there (``whole_grid.sh``'s Snakemake logs, carried runs included): its first and
last logged job event, the wall time between and the steps it finished.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd

from serbench.workflow import logged_cpu

STEPS_OF = {"quantization/train": "train", "quantization/quantize": "quantize", "quantization/allocators": "curves"}
SCRIPT_IMPORTS = {  # what each step's script imports (workflow/scripts/quantization/)
    step: f"serbench.workflow, serbench.device, serbench.{settings}, serbench.studies.quantization.{module}"
    for step, (settings, module) in {
        "train": ("settings", "train_step"),
        "quantize": ("settings.steps", "quantize_step"),
        "curves": ("settings.steps", "curves"),
    }.items()
}
STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$", re.MULTILINE)
STEPS = re.compile(r"^(\d+) of (\d+) steps", re.MULTILINE)


def benchmark_rows(results: Path) -> pd.DataFrame:
    """One row per finished job: ``rule``, ``cell`` (the path below the rule's folder), ``cpu_s`` (the larger of its
    log's and its benchmark file's), ``benchmark_cpu_s``, ``wall_s`` and ``from_log``."""
    rows = []
    for path in sorted((results / "benchmarks").rglob("*.tsv")):
        parts = path.relative_to(results / "benchmarks").with_suffix("").parts
        depth = 2 if parts[0] == "quantization" else 1
        table = pd.read_csv(path, sep="\t")
        sampled = float(table["cpu_time"].sum())
        logged = logged_cpu((results / "logs").joinpath(*parts).with_suffix(".log"))
        rows.append(
            {
                "rule": "/".join(parts[:depth]),
                "cell": "/".join(parts[depth:]),
                "cpu_s": sampled if logged is None else max(logged, sampled),
                "benchmark_cpu_s": sampled,
                "wall_s": float(table["s"].sum()),
                "from_log": logged is not None,
            }
        )
    return pd.DataFrame(rows, columns=["rule", "cell", "cpu_s", "benchmark_cpu_s", "wall_s", "from_log"])


def cell_steps(rows: pd.DataFrame, start_up: dict[str, float] | None = None) -> pd.DataFrame:
    """Per cell (``<features>/<dataset>/<protocol>/<family>``) all three steps finished: the CPU of training, the
    quantize step and the curves, ``start_up`` (CPU-s per step) taken from each job first."""
    steps = list(STEPS_OF.values())
    cells = rows[rows["rule"].isin(STEPS_OF)].assign(step=lambda r: r["rule"].map(STEPS_OF))
    wide = cells.pivot_table(index="cell", columns="step", values="cpu_s").reindex(columns=steps).dropna()
    return wide - pd.Series(start_up or {}, dtype=float).reindex(steps).fillna(0.0)


def with_ratios(steps: pd.DataFrame) -> pd.DataFrame:
    """``steps`` with the quantize step's and the curves' CPU over training's (``quantize_x``, ``curves_x``)."""
    return steps.assign(quantize_x=steps["quantize"] / steps["train"], curves_x=steps["curves"] / steps["train"])


def step_ratios(rows: pd.DataFrame, start_up: dict[str, float] | None = None) -> pd.DataFrame:
    """Per model family: training CPU and the quantize step's and curves' CPU over it, summed over the cells all
    three steps finished (:func:`cell_steps`)."""
    wide = cell_steps(rows, start_up)
    family = wide.index.str.rsplit("/", n=1).str[-1]
    totals = wide.groupby(family).sum()
    totals.index.name = "family"
    return with_ratios(totals).assign(cells=wide.groupby(family).size())


def start_up_cpu(modules: str, repeats: int = 3) -> float:
    """Mean CPU-s (user + system) of a fresh interpreter importing ``modules`` (comma-separated)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(repeats):
        subprocess.run([sys.executable, "-c", f"import {modules}"], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / repeats


def run_spans(grid: Path) -> pd.DataFrame:
    """One row per Snakemake log ``<grid>/<commit>/snakemake<N>.log``, in time order: ``run`` (commit/N), ``first``
    and ``last`` (its first and last job event), ``hours`` between them, ``steps`` finished of those planned."""
    rows = []
    for log in grid.glob("*/snakemake*.log"):
        text = log.read_text(errors="replace")
        stamps = [datetime.strptime(stamp, "%a %b %d %H:%M:%S %Y") for stamp in STAMP.findall(text)]
        steps = STEPS.findall(text)
        if stamps:
            rows.append(
                {
                    "run": f"{log.parent.name}/{log.stem.removeprefix('snakemake')}",
                    "first": stamps[0],
                    "last": stamps[-1],
                    "hours": (stamps[-1] - stamps[0]).total_seconds() / 3600,
                    "steps": "/".join(steps[-1]) if steps else "0",
                }
            )
    return pd.DataFrame(rows, columns=["run", "first", "last", "hours", "steps"]).sort_values("first")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="?", default=Path("results"))
    parser.add_argument("--runs", type=Path, help="a folder of whole_grid.sh checkouts (results/grid)")
    parser.add_argument("--start-up", action="store_true", help="also the ratios with each job's start-up out")
    parser.add_argument("--cells", action="store_true", help="also each cell's steps and ratios")
    args = parser.parse_args()
    if args.runs:
        spans = run_spans(args.runs)
        print(spans.assign(hours=spans["hours"].round(2)).to_string(index=False))
        print(f"\n{len(spans)} runs, {spans['hours'].sum():.2f} h of wall time from first to last job event\n")
    rows = benchmark_rows(args.results)
    per_rule = rows.groupby("rule")[["cpu_s", "benchmark_cpu_s", "wall_s", "from_log"]].sum()
    per_rule = per_rule.assign(jobs=rows.groupby("rule").size())
    print(per_rule.sort_values("cpu_s", ascending=False).round(0).to_string())
    print(
        f"\ntotal: {rows['cpu_s'].sum():,.0f} CPU-s ({rows['from_log'].sum()} of {len(rows)} jobs from their logs; "
        f"benchmark files {rows['benchmark_cpu_s'].sum():,.0f}), {rows['wall_s'].sum():,.0f} job wall-s\n"
    )
    print(step_ratios(rows).round(2).to_string())
    if args.cells:
        print("\n" + with_ratios(cell_steps(rows)).sort_values("quantize_x", ascending=False).round(2).to_string())
    if args.start_up:
        start_up = {step: start_up_cpu(modules) for step, modules in SCRIPT_IMPORTS.items()}
        print("\nstart-up CPU-s per job: " + ", ".join(f"{step} {cpu:.2f}" for step, cpu in start_up.items()))
        print(step_ratios(rows, start_up).round(2).to_string())


if __name__ == "__main__":
    main()
