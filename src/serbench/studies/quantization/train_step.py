"""The quantization study's training step, per cell (dataset, protocol, model family) over every fold and seed, and
the loop over a cell's trained runs that the quantize step, the allocator curves and the SVM share.

A cell's job reads its caches once and loops over folds and seeds in one process; each run is seeded exactly as a
job of its own would be, so the grouping changes no number.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from serbench.atomic import write_json
from serbench.dataset import CorpusArrays, CorpusFiles, SplitData
from serbench.folds import read_folds
from serbench.progress import progress
from serbench.provenance import stamp
from serbench.settings import TrainSettings
from serbench.settings.names import Fold
from serbench.studies.quantization.models import build_model, count_parameters, model_class
from serbench.studies.quantization.packing import load_packed, save_packed
from serbench.studies.quantization.training import train_classifier

log = logging.getLogger(__name__)


def run_dir(root: str | Path, fold: str, seed: int) -> Path:
    """The folder of one run's files in a cell: ``<root>/fold<fold>/seed<seed>``."""
    return Path(root) / Fold(fold).name / f"seed{seed}"


def fold_runs(folds: pd.DataFrame) -> list[tuple[int, str]]:
    """``(seed, fold)`` pairs of a fold table, seeds ascending, folds in order."""
    pairs = folds[["seed", "fold"]].drop_duplicates()
    return sorted(zip(pairs["seed"].astype(int), pairs["fold"]), key=lambda p: (p[0], int(p[1])))


def cell_label(run: dict) -> str:
    """A cell's name in progress lines: ``features/dataset/protocol[/model]``.

    >>> cell_label({"dataset": "emodb", "features": "egemaps", "protocol": "random", "model": "mlp"})
    'egemaps/emodb/random/mlp'
    """
    return "/".join(run[key] for key in ("features", "dataset", "protocol", "model") if key in run)


def trained_runs(
    models_dir: str, split_path: str, corpora: dict[str, CorpusFiles], max_frames: int, normalise: str, what: str
) -> Iterator[tuple[int, str, nn.Module, dict, SplitData]]:
    """Each trained float32 model of a cell with its fold's data: ``(seed, fold, model, header, data)``, with
    progress logged as ``<what> i/N runs``.

    Raises:
        DamagedFileError: a model file that does not load (it names the file and the command that rebuilds it).
    """
    folds = read_folds(split_path)
    arrays = None
    for seed, fold in progress(fold_runs(folds), what, "run"):
        model, header = load_packed(run_dir(models_dir, fold, seed) / "fp32.sbq")
        arrays = arrays or CorpusArrays(corpora, model_class(header["model"]).input_level, max_frames, normalise)
        yield seed, fold, model, header, arrays.split(folds[folds["seed"] == seed], fold, split_path)


def train_cell(
    split_path: str,
    corpora: dict[str, CorpusFiles],
    model_name: str,
    model_settings: dict,
    cfg: TrainSettings,
    max_frames: int,
    out_dir: str,
    normalise: str = "none",
    device: torch.device | str = "cpu",
    features: dict | None = None,
) -> None:
    """Train one model per fold and seed of a fold table on ``device``; write each float32-packed with its history.

    ``normalise`` standardises features per corpus or speaker first (:class:`serbench.dataset.CorpusArrays`).
    ``features`` (the feature set's name under ``set`` and its settings) goes into each packed file's ``inputs``
    with ``max_frames`` and ``normalise``, so that ``serbench predict`` makes a file's inputs as training did.
    Writes ``<out_dir>/fold<f>/seed<s>/fp32.sbq`` and ``history.json``.
    """
    inputs = {"features": features or {}, "max_frames": max_frames, "normalise": normalise}
    folds = read_folds(split_path)
    arrays = CorpusArrays(corpora, model_class(model_name).input_level, max_frames, normalise)
    for seed, fold in progress(fold_runs(folds), f"train {'/'.join(Path(out_dir).parts[-4:])}", "run"):
        data = arrays.split(folds[folds["seed"] == seed], fold, split_path)
        train = data.subsets["train"]
        kwargs = {"input_dim": int(train.features.shape[-1]), "n_classes": len(data.classes), **model_settings}
        torch.manual_seed(seed)  # seeds weight initialisation
        model = build_model(model_name, **kwargs)
        start = time.perf_counter()
        history = train_classifier(
            model, train, data.subsets["validation"], cfg, seed, f"{model_name} fold {fold} seed {seed}", device
        )
        history.update(
            train_seconds=time.perf_counter() - start,
            n_params=count_parameters(model),
            config=cfg.model_dump(),
            seed=seed,
            **stamp(),
        )
        path = run_dir(out_dir, fold, seed) / "fp32.sbq"
        save_packed(path, model, model_name, kwargs, data.classes, bits={}, inputs=inputs)
        write_json(run_dir(out_dir, fold, seed) / "history.json", history)
        log.info("fold %s seed %d: best validation accuracy %.4f", fold, seed, history["best_validation_accuracy"])
