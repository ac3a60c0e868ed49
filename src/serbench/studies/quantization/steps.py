"""Workflow steps of the quantization study that run models: features, and per cell (dataset, protocol, model
family) training and quantization over every fold and seed (splits: :mod:`serbench.protocols`; tables and
plots: :mod:`.tables`, :mod:`.plots`).

A cell's job reads its caches once and loops over folds and seeds in one
process; each run is seeded exactly as a job of its own would be, so the
grouping changes no number.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from serbench.atomic import write_json
from serbench.cache import save_ragged, save_rows
from serbench.corpora import read_manifest
from serbench.dataset import CorpusArrays, CorpusFiles, read_folds
from serbench.features import extract_corpus
from serbench.metrics import classification_scores
from serbench.models import build_model, count_parameters, model_class, predict
from serbench.provenance import stamp
from serbench.quantization.importance import average_bits, paper_size_kb
from serbench.quantization.layers import quantization_layers
from serbench.quantization.packing import load_packed, save_packed
from serbench.quantization.quantizers import FLOAT_BITS, fake_quantize_model
from serbench.quantization.variants import variant_bits
from serbench.settings import FeatureSettings, QuantizationSettings, TrainSettings
from serbench.studies.quantization.training import train_classifier

log = logging.getLogger(__name__)


def features(manifest_path: str, utterance_out: str, frames_out: str, cfg: FeatureSettings, threads: int = 1) -> None:
    """Frame-level features of every manifest row (``frames_out``) and their time-means (``utterance_out``).

    ``threads`` decode files and run the batched STFT (:func:`serbench.features.extract_corpus`).
    """
    start = time.perf_counter()
    ids, frames = extract_corpus(read_manifest(manifest_path), cfg, threads)
    save_ragged(frames_out, ids, frames)
    save_rows(utterance_out, ids, np.stack([f.mean(axis=0) for f in frames]))
    log.info("%d utterances, %d frames in %.1f s", len(ids), sum(map(len, frames)), time.perf_counter() - start)


def _run_dir(root: str | Path, fold: str, seed: int) -> Path:
    return Path(root) / f"fold{fold}" / f"seed{seed}"


def _runs(folds: pd.DataFrame) -> list[tuple[int, str]]:
    """``(seed, fold)`` pairs of a fold table, seeds ascending, folds in order."""
    pairs = folds[["seed", "fold"]].drop_duplicates()
    return sorted(zip(pairs["seed"].astype(int), pairs["fold"]), key=lambda p: (p[0], int(p[1])))


def train_cell(
    split_path: str,
    corpora: dict[str, CorpusFiles],
    model_name: str,
    model_settings: dict,
    cfg: TrainSettings,
    max_frames: int,
    out_dir: str,
) -> None:
    """Train one model per fold and seed of a fold table; write each float32-packed with its history.

    Writes ``<out_dir>/fold<f>/seed<s>/fp32.sbq`` and ``history.json``.
    """
    folds = read_folds(split_path)
    arrays = CorpusArrays(corpora, model_class(model_name).input_level, max_frames)
    for seed, fold in _runs(folds):
        data = arrays.split(folds[folds["seed"] == seed], fold, split_path)
        train = data.subsets["train"]
        kwargs = {"input_dim": int(train.features.shape[-1]), "n_classes": len(data.classes), **model_settings}
        torch.manual_seed(seed)  # seeds weight initialisation
        model = build_model(model_name, **kwargs)
        start = time.perf_counter()
        history = train_classifier(model, train, data.subsets["validation"], cfg, seed)
        history.update(
            train_seconds=time.perf_counter() - start,
            n_params=count_parameters(model),
            config=cfg.model_dump(),
            seed=seed,
            **stamp(),
        )
        save_packed(_run_dir(out_dir, fold, seed) / "fp32.sbq", model, model_name, kwargs, data.classes, bits={})
        write_json(_run_dir(out_dir, fold, seed) / "history.json", history)
        log.info("fold %s seed %d: best validation accuracy %.4f", fold, seed, history["best_validation_accuracy"])


def quantize_cell(
    models_dir: str,
    split_path: str,
    corpora: dict[str, CorpusFiles],
    variants: list[str],
    cfg: QuantizationSettings,
    max_frames: int,
    run: dict,
    out_dir: str,
    out_metrics: str,
) -> None:
    """Quantize every trained model of a cell to every variant, write each bit-packed, score each packed file.

    Writes ``<out_dir>/fold<f>/seed<s>/<variant>.sbq`` and one JSON list of run
    records (``run`` fields, variant, bits, b̄, sizes, test scores, and for
    ``adaptive`` the layer importances and the bit-search trace) to ``out_metrics``.
    Bits are chosen on the validation split only; the test split is scored on
    the model loaded back from its packed file.

    Raises:
        RuntimeError: a packed file predicts differently from the fake-quantized
            model (a packing bug, never expected).
    """
    folds = read_folds(split_path)
    arrays = None
    records = []
    for seed, fold in _runs(folds):
        model, header = load_packed(_run_dir(models_dir, fold, seed) / "fp32.sbq")
        arrays = arrays or CorpusArrays(corpora, model_class(header["model"]).input_level, max_frames)
        data = arrays.split(folds[folds["seed"] == seed], fold, split_path)
        test, validation = data.subsets["test"], data.subsets["validation"]
        counts = {
            layer: sum(dict(model.named_parameters())[n].numel() for n in names)
            for layer, names in quantization_layers(model).items()
        }
        for variant in variants:
            bits, details = variant_bits(variant, model, validation, cfg.adaptive)
            out_model = _run_dir(out_dir, fold, seed) / f"{variant}.sbq"
            file_bytes = save_packed(out_model, model, header["model"], header["kwargs"], header["classes"], bits)
            packed, _ = load_packed(out_model)
            predicted = predict(packed, test.features, test.lengths)
            if not np.array_equal(predicted, predict(fake_quantize_model(model, bits), test.features, test.lengths)):
                raise RuntimeError(f"{out_model}: packed model predicts differently from the fake-quantized model")
            full_bits = {layer: bits.get(layer, FLOAT_BITS) for layer in counts}
            avg = average_bits(counts, full_bits)
            records.append(
                {
                    **run,
                    "fold": fold,
                    "seed": seed,
                    "variant": variant,
                    "bits": full_bits,
                    "avg_bits": avg,
                    "n_params": count_parameters(model),
                    "size_kb": paper_size_kb(count_parameters(model), avg),
                    "file_bytes": file_bytes,
                    "n_test": int(len(test.labels)),
                    "n_validation": int(len(validation.labels)),
                    "test_utterances": test.ids.tolist(),
                    **classification_scores(test.labels, predicted),
                    **details,
                    **stamp(),
                }
            )
    write_json(out_metrics, records)
