"""The GPU benchmark, ready to run on a machine that has one: each step on ``device: cuda`` beside the same step on
the CPU, from the jobs' own benchmark files.

Runs, per device, in a fresh folder with the shared corpora and the Hugging Face cache:

- ``cell``: one cell of every feature-model family (EmoDB, random split, the paper's features, ten seeds):
  training, the quantize step and the allocator curves;
- ``finetune``: whisper-tiny.en fine-tuned in both SSL studies (``finetune: true``; DistilHuBERT on two EmoDB speaker
  folds, self-distillation on one variant), few epochs;
- ``grid`` (``--grid``, CUDA only): the whole offline grid (``config.yaml`` + ``config/offline.yaml``) with
  ``device: cuda``, its wall time.

Prints one Markdown table (rule, wildcards, seconds and CPU-seconds per device, the speed-up) and writes it with the
raw rows to ``--out``. Stand-alone, not a pytest file::

    python tests/benchmarks/device_grid.py --data ../shared/data --hub ../shared/hf-hub --out device.md [--grid]

``--devices cpu --parts cell --seeds 1`` is a three-minute smoke run on a CPU alone.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CONFIGS = {
    "cell": {
        "studies": ["quantization"],
        "quantization": {
            "corpora": ["emodb"],
            "protocols": ["random"],
            "cross_corpus": [],
            "features": {"sets": ["mfcc_chroma_mel"]},
            "svm": {"enabled": False},
        },
    },
    "finetune": {
        "studies": ["distilhubert", "selfdistill"],
        "distilhubert": {
            "upstreams": ["openai/whisper-tiny.en"],
            "finetune": True,
            "n_folds": 2,
            "extra_train": [],
            "views": 0,
            "seeds": [0],
            "train": {"epochs": 3},
        },
        "selfdistill": {
            "upstreams": [{"pretrained": "openai/whisper-tiny.en", "layers": 4, "exit_layers": [1, 2, 3]}],
            "finetune": True,
            "variants": ["conv-cosine"],
            "seeds": [0],
            "train": {"epochs": 3},
        },
    },
}
TIMED_RULES = {
    "cell": ("quantization_train", "quantization_quantize", "quantization_allocators"),
    "finetune": ("distilhubert_train", "selfdistill_train"),
}


def run(config: dict | None, device: str, data: Path, cores: int, extra: list[str]) -> tuple[Path, float]:
    """One Snakemake run from empty results in a fresh folder; returns the folder and its wall time (s)."""
    work = Path(tempfile.mkdtemp(prefix=f"serbench-{device}-"))
    files = [str(REPO / "config.yaml"), *extra]
    if config is not None:
        (work / "bench.yaml").write_text(yaml.safe_dump(config))
        files.append(str(work / "bench.yaml"))
    command = ["snakemake", "--snakefile", str(REPO / "workflow" / "Snakefile"), "--directory", str(work)]
    command += ["--cores", str(cores), "all", "--configfile", *files]
    command += ["--config", f"data_root={data}", f"device={device}"]
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO)
    return work, time.perf_counter() - start


def timings(work: Path, rules: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    """``<benchmark path>`` -> (wall s, CPU s) of the jobs of ``rules`` (``<study>_<step>``, filed under
    ``<study>/[<upstream>/]<step>/...``), from their benchmark files."""
    out = {}
    for path in sorted((work / "results" / "benchmarks").rglob("*.tsv")):
        parts = path.relative_to(work / "results" / "benchmarks").with_suffix("").parts
        if any(parts[0] == rule.split("_", 1)[0] and rule.split("_", 1)[1] in parts[1:3] for rule in rules):
            with path.open() as handle:
                row = list(csv.DictReader(handle, delimiter="\t"))[-1]
            out["/".join(parts)] = (float(row["s"]), float(row["cpu_time"]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with emodb/, tess/, ravdess/")
    parser.add_argument("--hub", type=Path, required=True, help="Hugging Face cache holding openai/whisper-tiny.en")
    parser.add_argument("--devices", nargs="+", default=["cpu", "cuda"])
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--parts", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--seeds", type=int, default=10, help="seeds of the cell part (10: the default grid's)")
    parser.add_argument("--grid", action="store_true", help="also the whole offline grid on CUDA")
    parser.add_argument("--out", type=Path, default=Path("device_benchmark.md"))
    args = parser.parse_args()
    os.environ.update(HF_HUB_CACHE=str(args.hub.resolve()), HF_HUB_OFFLINE="1")
    measured: dict[str, dict[str, tuple[float, float]]] = {}
    lines = ["| part | step | " + " | ".join(f"{d} s | {d} CPU-s" for d in args.devices) + " | speed-up |"]
    lines.append("| --- | --- |" + " ---: | ---: |" * len(args.devices) + " ---: |")
    CONFIGS["cell"]["quantization"]["seeds"] = list(range(args.seeds))
    for part in args.parts:
        for device in args.devices:
            work, wall = run(CONFIGS[part], device, args.data.resolve(), args.cores, [])
            measured[device] = timings(work, TIMED_RULES[part]) | {"(whole run)": (wall, float("nan"))}
        for step in measured[args.devices[0]]:
            cells = [measured[d].get(step, (float("nan"),) * 2) for d in args.devices]
            ratio = cells[0][0] / cells[-1][0] if cells[-1][0] else float("nan")
            lines.append(
                f"| {part} | {step} | " + " | ".join(f"{s:.1f} | {c:.1f}" for s, c in cells) + f" | {ratio:.1f}x |"
            )
    if args.grid:
        _, wall = run(None, "cuda", args.data.resolve(), args.cores, [str(REPO / "config" / "offline.yaml")])
        lines.append(f"| grid | offline, device: cuda, {args.cores} cores | {wall:.0f} | | |")
    table = "\n".join(lines)
    args.out.write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
