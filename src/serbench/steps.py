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

from serbench.atomic import write_csv, write_json, write_text
from serbench.cache import save_ragged, save_rows
from serbench.corpora import build_manifest, get_adapter, read_manifest
from serbench.dataset import CorpusFiles, load_split_data
from serbench.features import FeatureConfig, extract_corpus
from serbench.metrics import classification_scores
from serbench.models import build_model, count_parameters, model_class
from serbench.protocols import cross_corpus_split, fixed_speaker_split, random_split, speaker_independent_split
from serbench.provenance import stamp
from serbench.quantization.importance import average_bits, paper_size_kb
from serbench.quantization.layers import quantization_layers
from serbench.quantization.packing import load_packed, save_packed
from serbench.quantization.quantizers import FLOAT_BITS, fake_quantize_model
from serbench.quantization.variants import AdaptiveConfig, variant_bits
from serbench.report.literature import literature_markdown
from serbench.report.plots import plot_accuracy_vs_bits, plot_pareto
from serbench.report.tables import read_runs, summarize, to_markdown
from serbench.training import TrainConfig, predict, train_classifier

log = logging.getLogger(__name__)


def manifest_step(corpus: str, root: str, out: str, skipped_out: str) -> None:
    """Scan a corpus copy into ``out`` (manifest CSV) and ``skipped_out`` (files left out, with reasons)."""
    manifest, skipped = build_manifest(get_adapter(corpus), root)
    write_csv(skipped_out, skipped)
    write_csv(out, manifest)


def features_step(manifest_path: str, utterance_out: str, frames_out: str, cfg: FeatureConfig) -> None:
    """Frame-level features of every manifest row (``frames_out``) and their time-means (``utterance_out``), one pass."""
    start = time.perf_counter()
    ids, frames = extract_corpus(read_manifest(manifest_path), cfg)
    save_ragged(frames_out, ids, frames)
    save_rows(utterance_out, ids, np.stack([f.mean(axis=0) for f in frames]))
    log.info("%d utterances, %d frames in %.1f s", len(ids), sum(map(len, frames)), time.perf_counter() - start)


def split_step(protocol: str, manifests: dict[str, str], out: str, seed: int, settings: dict) -> None:
    """Fold table of one protocol and seed into ``out`` (CSV).

    Args:
        protocol: ``random``, ``speaker_independent``, ``fixed_speakers`` or ``cross_corpus``.
        manifests: corpus name -> manifest path; for ``cross_corpus`` the last
            one is the test corpus, the others train.
        seed: seed of the split.
        settings: the protocol's keyword arguments (fractions, ``n_folds``, validation speakers,
            ``speakers`` lists), and ``exclude_emotions``, emotions left out before splitting (logged).

    Raises:
        ValueError: an unknown protocol, or one corpus given to a single-corpus protocol more than once.
    """
    settings = dict(settings)
    excluded = set(settings.pop("exclude_emotions", []))
    tables = {}
    for name, path in manifests.items():
        table = read_manifest(path)
        if excluded:
            log.info("%s: %d utterances of %s left out", name, table["emotion"].isin(excluded).sum(), sorted(excluded))
        tables[name] = table[~table["emotion"].isin(excluded)]
    names = list(tables)
    if protocol == "cross_corpus":
        folds = cross_corpus_split(tables, names[:-1], names[-1], seed, **settings)
    elif len(names) != 1:
        raise ValueError(f"protocol {protocol!r} takes one corpus, got {names}")
    elif protocol == "random":
        folds = random_split(tables[names[0]], names[0], seed, **settings)
    elif protocol == "speaker_independent":
        folds = speaker_independent_split(tables[names[0]], names[0], seed=seed, **settings)
    elif protocol == "fixed_speakers":
        folds = fixed_speaker_split(tables[names[0]], names[0], **settings)
    else:
        raise ValueError(
            f"unknown protocol {protocol!r}; expected random, speaker_independent, fixed_speakers or cross_corpus")
    write_csv(out, folds)


def train_step(
    corpora: dict[str, CorpusFiles], split_path: str, fold: str, seed: int, model_name: str, model_kwargs: dict,
    cfg: TrainConfig, max_frames: int, out_model: str, out_history: str,
) -> None:
    """Train one model on one fold and seed; write it float32-packed and its history."""
    data = load_split_data(split_path, fold, corpora, model_class(model_name).input_level, max_frames)
    train = data.subsets["train"]
    kwargs = {"input_dim": int(train.features.shape[-1]), "n_classes": len(data.classes), **model_kwargs}
    torch.manual_seed(seed)  # seeds weight initialisation
    model = build_model(model_name, **kwargs)
    start = time.perf_counter()
    history = train_classifier(model, train, data.subsets["validation"], cfg, seed)
    history.update(train_seconds=time.perf_counter() - start, n_params=count_parameters(model),
                   config=asdict(cfg), seed=seed, **stamp())
    save_packed(out_model, model, model_name, kwargs, data.classes, bits={})
    write_json(out_history, history)


def quantize_step(
    model_path: str, corpora: dict[str, CorpusFiles], split_path: str, fold: str, max_frames: int,
    variants: list[str], adaptive: AdaptiveConfig, out_dir: str, run: dict,
) -> None:
    """Quantize one trained model to every variant, write each bit-packed, and score each packed file on the test split.

    Writes ``<out_dir>/<variant>.sbq`` and ``<variant>.json``. Bits are chosen
    on the validation split only; the test split is scored on the model loaded
    back from its packed file.

    Raises:
        RuntimeError: a packed file predicts differently from the fake-quantized
            model (a packing bug, never expected).
    """
    model, header = load_packed(model_path)
    data = load_split_data(split_path, fold, corpora, model_class(header["model"]).input_level, max_frames)
    test, validation = data.subsets["test"], data.subsets["validation"]
    counts = {layer: sum(dict(model.named_parameters())[n].numel() for n in names)
              for layer, names in quantization_layers(model).items()}
    for variant in variants:
        bits, details = variant_bits(variant, model, validation, adaptive)
        out_model = Path(out_dir) / f"{variant}.sbq"
        file_bytes = save_packed(out_model, model, header["model"], header["kwargs"], header["classes"], bits)
        packed, _ = load_packed(out_model)
        predicted = predict(packed, test.features, test.lengths)
        if not np.array_equal(predicted, predict(fake_quantize_model(model, bits), test.features, test.lengths)):
            raise RuntimeError(f"{out_model}: packed model predicts differently from the fake-quantized model")
        full_bits = {layer: bits.get(layer, FLOAT_BITS) for layer in counts}
        avg = average_bits(counts, full_bits)
        write_json(Path(out_dir) / f"{variant}.json", {
            **run, "variant": variant, "bits": full_bits, "avg_bits": avg, "n_params": count_parameters(model),
            "size_kb": paper_size_kb(count_parameters(model), avg), "file_bytes": file_bytes,
            "n_test": int(len(test.labels)), "n_validation": int(len(validation.labels)),
            "test_utterances": test.ids.tolist(), **classification_scores(test.labels, predicted),
            **details, **stamp(),
        })


def table_step(metrics_paths: list[str], runs_out: str, csv_out: str, md_out: str, literature_out: str,
               config_hash: str = "") -> None:
    """Per-run CSV, summary CSV and Markdown, and the literature comparison (paper's Table 3 layout).

    Every row of both CSVs carries ``config_hash`` (the study's, from the
    workflow), the package version and git commit of its runs, and its seed(s).
    """
    runs = read_runs(metrics_paths).assign(config_hash=config_hash)
    table = summarize(runs).assign(config_hash=config_hash)
    write_csv(runs_out, runs)
    write_csv(csv_out, table)
    write_text(md_out, to_markdown(table))
    write_text(literature_out, literature_markdown(table))


def plot_step(kind: str, table_path: str, corpus: str, out: str, protocol: str | None = None) -> None:
    """A plot of one corpus from the summary CSV: ``pareto`` or ``bits`` (accuracy against b̄, the paper's Figure 2)."""
    table = pd.read_csv(table_path, dtype={"corpus": str})
    if kind == "pareto":
        plot_pareto(table, corpus, out, protocol)
    else:
        plot_accuracy_vs_bits(table, corpus, protocol, out)
