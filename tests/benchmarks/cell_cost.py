"""A cell's three steps in one process: training, the quantize step and the allocator curves, on the same runs.

The grid's benchmark files give each job's CPU, but jobs run hours apart on a machine whose load changes, so
their ratios move with it. This script takes ``--runs`` (seed, fold) runs of one cell of a results folder (its
manifests, features and fold table, as the grid wrote them), trains them, quantizes them and traces their curves
with the default settings, one thread, and prints each step's CPU seconds and the quantize step and the curves
against training: the ratios of issue 28's targets, measured in one run. It also prints the quantize step's
floors, costs no faster scoring or packing removes: its test passes (each distinct set of weights a run's packed
files hold is scored once on the run's test split, at the CPU of one pass of the float model over it) and, where
the family is fine-tuned (QAT), the fine-tunes' epochs at training's CPU per epoch.

    python tests/benchmarks/cell_cost.py --results results/grid/<commit>/tree/results \
        --dataset emodb --protocol speaker_independent --family attention_gru --runs 3
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import torch
from grid_cell import add_cell_options, grid_cell

from serbench.folds import read_folds
from serbench.settings import Settings
from serbench.settings.steps import AllocatorStepSettings, QuantizeStepSettings
from serbench.studies.quantization.curves import allocator_curves
from serbench.studies.quantization.models import batch_logits, length_batches, weights_key
from serbench.studies.quantization.packing import load_packed
from serbench.studies.quantization.quantize_step import quantize_cell
from serbench.studies.quantization.train_step import fold_runs, train_cell, trained_runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_cell_options(parser, features="mfcc_chroma_mel", protocol="speaker_independent")
    parser.add_argument("--runs", type=int, default=3, help="the first (seed, fold) runs of the fold table")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cfg, (corpora, split_path, _, normalise) = Settings().quantization, grid_cell(args)
    folds = read_folds(split_path)
    chosen = fold_runs(folds)[: args.runs]
    folds = folds[[(int(s), f) in chosen for s, f in zip(folds["seed"], folds["fold"])]]
    run = {"features": args.features, "dataset": args.dataset, "protocol": args.protocol, "model": args.family}
    with tempfile.TemporaryDirectory() as tmp:
        split, models = f"{tmp}/split.csv", f"{tmp}/models"
        folds.to_csv(split, index=False)
        steps = {
            "train": lambda: train_cell(
                split, corpora, args.family, getattr(cfg, args.family).model_dump(), cfg.train,
                cfg.sequences.max_frames, models, normalise,
            ),
            "quantize": lambda: quantize_cell(
                models, split, corpora, cfg.part(QuantizeStepSettings), cfg.train.batch_size,
                cfg.sequences.max_frames, run, f"{tmp}/packed", f"{tmp}/quantized.json", normalise,
            ),
            "curves": lambda: allocator_curves(
                models, split, corpora, cfg.part(AllocatorStepSettings), cfg.sequences.max_frames, run,
                f"{tmp}/curves.json", normalise, quantized_metrics=f"{tmp}/quantized.json",
            ),
        }  # fmt: skip
        seconds = {}
        for step, call in steps.items():
            start = time.process_time()
            call()
            seconds[step] = time.process_time() - start
        floors = [
            scoring_floor(
                trained_runs(models, split, corpora, cfg.sequences.max_frames, normalise, "test passes"),
                f"{tmp}/quantized.json",
                seconds["train"],
            ),
            qat_floor(models, f"{tmp}/quantized.json", seconds["train"]),
        ]
    cpu = ", ".join(f"{step} {t:.1f}" for step, t in seconds.items())
    print(f"{'/'.join(run.values())}: {len(chosen)} runs, CPU-s {cpu}")
    train = seconds["train"]
    print(f"  quantize/train {seconds['quantize'] / train:.2f}, curves/train {seconds['curves'] / train:.2f}")
    print("\n".join(floor for floor in floors if floor))


def scoring_floor(runs: Iterator[tuple], records: str, train_cpu: float, repeats: int = 3) -> str:
    """The quantize step's test passes and the floor they set as a share of the training step's CPU: per run, the
    distinct weights among its packed files (:func:`weights_key`) × the CPU-s of one pass of its float model over its
    test split (mean of ``repeats``), summed over ``runs`` (:func:`trained_runs`) / ``train_cpu``."""
    files: dict[tuple, set[str]] = {}
    for record in json.loads(Path(records).read_text()):
        files.setdefault((str(record["fold"]), int(record["seed"])), set()).add(record["model_file"])
    passes, cpu = 0, 0.0
    for seed, fold, model, _, data in runs:
        distinct = len({weights_key(load_packed(path)[0]) for path in files[(str(fold), int(seed))]})
        batches = length_batches(data.subsets["test"].features, data.subsets["test"].lengths)
        start = time.process_time()
        for _ in range(repeats):
            batch_logits(model, batches)
        passes, cpu = passes + distinct, cpu + distinct * (time.process_time() - start) / repeats
    return (
        f"  test passes: {passes} ({passes / len(files):.1f} a run, {cpu / passes:.3f} CPU-s each); at that cost they"
        f" alone are {cpu / train_cpu:.2f} of training (the quantize step's floor)"
    )


def qat_floor(models: str, records: str, train_cpu: float) -> str:
    """The QAT fine-tunes' epochs against training's, and the quantize step's floor they set as a share of the
    training step's CPU: QAT epochs × training's CPU-s per epoch (its histories) / ``train_cpu`` ('' without QAT).
    A fine-tuning epoch runs a training epoch's batches through the same network, and a quantizer besides."""
    histories = [json.loads(path.read_text()) for path in Path(models).glob("fold*/seed*/history.json")]
    tunes = [record["qat"]["epochs_run"] for record in json.loads(Path(records).read_text()) if "qat" in record]
    if not tunes:
        return ""
    trained = sum(history["epochs_run"] for history in histories)
    per_epoch = sum(sum(history["epoch_cpu_seconds"]) for history in histories) / trained
    return (
        f"  QAT: {len(tunes)} fine-tunes, {sum(tunes)} epochs against training's {trained} ({per_epoch:.3f} CPU-s"
        f" each); at that cost they alone are {sum(tunes) * per_epoch / train_cpu:.2f} of training (the quantize"
        " step's floor)"
    )


if __name__ == "__main__":
    main()
