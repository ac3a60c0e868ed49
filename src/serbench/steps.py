"""One function per workflow step: read inputs, call the library, write outputs atomically.

Each Snakemake rule is one ``serbench`` CLI call into one of these.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from serbench import __version__
from serbench.atomic import write_csv, write_json, write_text
from serbench.corpora import build_manifest, get_adapter, read_manifest
from serbench.dataset import load_split_data
from serbench.features import FeatureConfig, extract_corpus, save_features
from serbench.metrics import classification_scores
from serbench.models import build_model, count_parameters
from serbench.protocols import random_split
from serbench.quantization.importance import average_bits, paper_size_kb
from serbench.quantization.layers import quantization_layers
from serbench.quantization.packing import load_packed, save_packed
from serbench.quantization.quantizers import FLOAT_BITS, fake_quantize_model
from serbench.quantization.variants import AdaptiveConfig, variant_bits
from serbench.report.plots import plot_pareto
from serbench.report.tables import read_runs, summarize, to_markdown
from serbench.training import TrainConfig, predict, train_classifier

log = logging.getLogger(__name__)


def manifest_step(corpus: str, root: str, out: str, skipped_out: str) -> None:
    """Scan a corpus copy into ``out`` (manifest CSV) and ``skipped_out`` (files left out, with reasons)."""
    manifest, skipped = build_manifest(get_adapter(corpus), root)
    write_csv(skipped_out, skipped)
    write_csv(out, manifest)


def features_step(manifest_path: str, out: str, cfg: FeatureConfig) -> None:
    """Utterance-level features of every manifest row into ``out`` (.npz)."""
    start = time.perf_counter()
    ids, features = extract_corpus(read_manifest(manifest_path), cfg)
    save_features(out, ids, features)
    log.info("%d utterances, %s features in %.1f s", len(ids), features.shape, time.perf_counter() - start)


def split_step(manifest_path: str, out: str, seed: int, validation_fraction: float, test_fraction: float) -> None:
    """The random protocol's fold table for one seed into ``out`` (CSV)."""
    write_csv(out, random_split(read_manifest(manifest_path), seed, validation_fraction, test_fraction))


def train_step(
    features_path: str, split_path: str, manifest_path: str, fold: str, seed: int,
    model_name: str, model_kwargs: dict, cfg: TrainConfig, out_model: str, out_history: str,
) -> None:
    """Train one model on one fold and seed; write it float32-packed and its history."""
    data = load_split_data(features_path, split_path, manifest_path, fold)
    train_x, train_y = data.xy("train")
    kwargs = {"input_dim": int(train_x.shape[-1]), "n_classes": len(data.classes), **model_kwargs}
    torch.manual_seed(seed)  # seeds weight initialisation
    model = build_model(model_name, **kwargs)
    start = time.perf_counter()
    history = train_classifier(model, (train_x, train_y), data.xy("validation"), cfg, seed)
    history.update(train_seconds=time.perf_counter() - start, n_params=count_parameters(model),
                   config=asdict(cfg), seed=seed, serbench_version=__version__)
    save_packed(out_model, model, model_name, kwargs, data.classes, bits={})
    write_json(out_history, history)


def quantize_step(
    model_path: str, features_path: str, split_path: str, manifest_path: str, fold: str,
    variant: str, adaptive: AdaptiveConfig, out_model: str, out_metrics: str, run: dict,
) -> None:
    """Quantize one trained model to one variant, write it bit-packed, and score the packed file on the test split.

    The bits are chosen on the validation split only; the test split is read
    after the packed file is written, to score the model loaded back from it.

    Raises:
        RuntimeError: the packed file predicts differently from the
            fake-quantized model (a packing bug, never expected).
    """
    model, header = load_packed(model_path)
    data = load_split_data(features_path, split_path, manifest_path, fold)
    bits, details = variant_bits(variant, model, data.xy("validation"), adaptive)
    file_bytes = save_packed(out_model, model, header["model"], header["kwargs"], header["classes"], bits)
    packed, _ = load_packed(out_model)
    test_x, test_y = data.xy("test")
    predicted = predict(packed, test_x)
    if not np.array_equal(predicted, predict(fake_quantize_model(model, bits), test_x)):
        raise RuntimeError(f"{out_model}: packed model predicts differently from the fake-quantized model")
    counts = {layer: sum(dict(model.named_parameters())[n].numel() for n in names)
              for layer, names in quantization_layers(model).items()}
    full_bits = {layer: bits.get(layer, FLOAT_BITS) for layer in counts}
    n_params = count_parameters(model)
    avg = average_bits(counts, full_bits)
    write_json(out_metrics, {
        **run,
        "variant": variant,
        "bits": full_bits,
        "avg_bits": avg,
        "n_params": n_params,
        "size_kb": paper_size_kb(n_params, avg),
        "file_bytes": file_bytes,
        "n_test": int(len(test_y)),
        "n_validation": int(len(data.xy("validation")[1])),
        "test_utterances": data.subsets["test"][2].tolist(),
        **classification_scores(test_y, predicted),
        **details,
        "serbench_version": __version__,
    })


def table_step(metrics_paths: list[str], runs_out: str, csv_out: str, md_out: str) -> None:
    """Per-run CSV, summary CSV and summary Markdown of the quantization study."""
    runs = read_runs(metrics_paths)
    table = summarize(runs)
    write_csv(runs_out, runs)
    write_csv(csv_out, table)
    write_text(md_out, to_markdown(table))


def plot_step(table_path: str, corpus: str, out: str) -> None:
    """Pareto plot of one corpus from the summary CSV."""
    plot_pareto(pd.read_csv(table_path, dtype={"corpus": str}), corpus, out)
