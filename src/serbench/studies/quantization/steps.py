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
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from serbench.atomic import write_json
from serbench.cache import save_ragged, save_rows
from serbench.corpora import left_out, read_manifest
from serbench.dataset import CorpusArrays, CorpusFiles, SplitData, Subset
from serbench.egemaps import extract_egemaps
from serbench.features import extract_corpus
from serbench.folds import read_folds
from serbench.metrics import classification_scores, hits_string
from serbench.models import build_model, count_parameters, model_class, predict, weights_key
from serbench.progress import progress
from serbench.provenance import stamp
from serbench.quantization.importance import average_bits, paper_size_kb
from serbench.quantization.layers import quantization_layers
from serbench.quantization.packing import load_packed, save_packed, stored_bytes
from serbench.quantization.quantizers import FLOAT_BITS, fake_quantize_model
from serbench.quantization.variants import allocations, layer_counts
from serbench.settings import TrainSettings
from serbench.settings.names import Fold, QuantizationVariant
from serbench.settings.quantization import FINE_TUNED, PAPER_FEATURES, FeatureExtractionSettings
from serbench.settings.steps import QuantizeStepSettings
from serbench.studies.quantization.qat import quantization_aware_training
from serbench.studies.quantization.training import train_classifier

log = logging.getLogger(__name__)


def features(
    manifest_path: str,
    utterance_out: str,
    frames_out: str,
    cfg: FeatureExtractionSettings,
    threads: int = 1,
    feature_set: str = PAPER_FEATURES,
) -> str | None:
    """Frame-level features of every manifest row (``frames_out``) and utterance-level ones (``utterance_out``).

    ``mfcc_chroma_mel``: the paper's 180 values per frame (:func:`serbench.features.extract_corpus`, batched
    STFT on ``threads``) and their time-means; ``egemaps``: eGeMAPSv02's 25 descriptors per frame and 88
    functionals per utterance (:func:`serbench.egemaps.extract_egemaps`). Returns the console line for rows
    left out (:func:`serbench.corpora.left_out`), ``None`` when every row was kept.

    Raises:
        ValueError: an unknown ``feature_set``.
    """
    start = time.perf_counter()
    manifest = read_manifest(manifest_path)
    if feature_set == "egemaps":
        ids, utterance, frames = extract_egemaps(manifest, cfg.sample_rate, threads)
    elif feature_set == PAPER_FEATURES:
        ids, frames = extract_corpus(manifest, cfg, threads)
        utterance = [f.mean(axis=0, dtype=np.float64) for f in frames]
    else:
        raise ValueError(f"unknown feature set {feature_set!r}; expected {PAPER_FEATURES} or egemaps")
    save_ragged(frames_out, ids, frames)
    save_rows(utterance_out, ids, np.stack(utterance).astype(np.float32))
    log.info("%d utterances, %d frames in %.1f s", len(ids), sum(map(len, frames)), time.perf_counter() - start)
    return left_out(manifest, ids, "features")


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


def _packed_record(
    model: nn.Module,
    header: dict,
    bits: dict[str, int],
    quantizer: str,
    out_model: Path,
    test: Subset,
    cache: dict | None = None,
    predictions: dict[str, np.ndarray] | None = None,
    device: torch.device | str | None = None,
) -> dict:
    """Pack ``model`` at ``bits``, load the file back, score it on ``test``; sizes, bits and scores of the run.

    The packed model must equal the fake-quantized one tensor for tensor, or else predict exactly as it does.
    ``predictions`` (weights key -> test predictions, kept across a run's variants) scores each distinct set
    of weights once: the ternary quantizer's widths above 2 bits are the uniform ones, and allocators often
    choose a fixed width's assignment.

    Raises:
        RuntimeError: the packed file predicts differently from the fake-quantized model (a packing bug).
    """
    cache = {} if cache is None else cache  # codes of this model and quantizer, computed once
    predictions = {} if predictions is None else predictions
    file_bytes = save_packed(
        out_model, model, header["model"], header["kwargs"], header["classes"], bits, quantizer, cache, header["inputs"]
    )
    packed, saved = load_packed(out_model)
    key = weights_key(packed)
    if key not in predictions:
        predictions[key] = predict(packed, test.features, test.lengths, device=device)
    predicted = predictions[key]
    reference = fake_quantize_model(model, bits, quantizer, cache) if bits else None
    if (
        reference is not None
        and weights_key(reference) != key
        and not np.array_equal(predicted, predict(reference, test.features, test.lengths, device=device))
    ):
        raise RuntimeError(f"{out_model}: packed model predicts differently from the fake-quantized model")
    counts = layer_counts(model)
    full_bits = {layer: bits.get(layer, FLOAT_BITS) for layer in counts}
    avg = average_bits(counts, full_bits)
    params = dict(model.named_parameters())
    layer_of_param = {n: layer for layer, names in quantization_layers(model).items() for n in names}
    channels = {entry["name"]: entry["channels"] for entry in saved["tensors"]}
    stored = sum(stored_bytes(p.numel(), full_bits[layer_of_param[n]], channels[n]) for n, p in params.items())
    return {
        "quantizer": quantizer if bits else "none",
        "bits": full_bits,
        "avg_bits": avg,
        "n_params": count_parameters(model),
        "size_kb": stored / 1000,
        "paper_count_kb": paper_size_kb(count_parameters(model), avg),
        "file_bytes": file_bytes,
        "file_sha256": saved["sha256"],
        "model_file": str(out_model),
        "n_test": int(len(test.labels)),
        "n_correct": int((predicted == test.labels).sum()),
        "test_utterances": test.ids.tolist(),
        "test_speakers": test.speakers.tolist(),
        "test_correct": hits_string(predicted == test.labels),
        **classification_scores(test.labels, predicted),
    }


def quantize_cell(
    models_dir: str,
    split_path: str,
    corpora: dict[str, CorpusFiles],
    cfg: QuantizeStepSettings,
    batch_size: int,
    max_frames: int,
    run: dict,
    out_dir: str,
    out_metrics: str,
    normalise: str = "none",
    device: torch.device | str = "cpu",
) -> None:
    """Quantize every trained model of a cell with every quantizer and variant, pack each, score each packed file.
    Models run (QAT, scoring) on ``device``; packing is on the CPU.

    Per fold and seed: the float32 model (variant ``fp32``), then per quantizer the fixed widths, the
    paper's adaptive search, the sensitivity allocator at its b̄, and quantization-aware fine-tuning of
    the fixed-2 and adaptive assignments (families in ``qat.families``). Writes
    ``<out_dir>/fold<f>/seed<s>/<quantizer>/<variant>.sbq`` and one JSON list of run records to
    ``out_metrics``. Allocators score the ``search`` subset, QAT chooses its epoch on ``validation``;
    the test split is scored once per file, on the model loaded back from it. Each record carries the
    test set's chance levels: the majority class's share (WA) and ``1/k`` for ``k`` classes (UA), and
    the classes (the emotions the protocol keeps: a cross-corpus pair's shared ones).
    """
    records = []
    cell = trained_runs(models_dir, split_path, corpora, max_frames, normalise, f"quantize {cell_label(run)}")
    for seed, fold, model, header, data in cell:
        test, validation = data.subsets["test"], data.subsets["validation"]
        search = data.subsets.get("search", validation)
        if "search" not in data.subsets:
            log.warning(
                "fold %s seed %d: no search subset; the bit search scores the whole validation split", fold, seed
            )
        sizes = {
            "n_validation": int(len(validation.labels)),
            "n_search": int(len(search.labels)),
            "chance_wa": float(np.bincount(test.labels).max() / len(test.labels)),
            "chance_ua": 1 / len(data.classes),
            "classes": " ".join(data.classes),
        }
        directory = run_dir(out_dir, fold, seed)
        predictions: dict[str, np.ndarray] = {}  # test predictions of each distinct set of weights of the run
        scoring = {"test": test, "predictions": predictions, "device": device}
        fp32 = _packed_record(model, header, {}, "uniform", directory / "fp32.sbq", **scoring)
        records.append({**run, "fold": fold, "seed": seed, "variant": "fp32", **fp32, **sizes, **stamp()})
        if header["model"] in cfg.qat.families:  # QAT's control: the same fine-tuning, no quantizer
            tuned, history = quantization_aware_training(
                model, {}, "uniform", data.subsets["train"], validation, cfg.qat, batch_size, seed, device
            )
            control = _packed_record(tuned, header, {}, "uniform", directory / f"{FINE_TUNED}.sbq", **scoring)
            control |= {"variant": FINE_TUNED, "qat": history}
            records.append({**run, "fold": fold, "seed": seed, **control, **sizes, **stamp()})
        for quantizer in cfg.quantizers:
            cache: dict = {}  # codes of the trained model, shared by the allocators and the packing
            assigned = allocations(model, search, cfg, quantizer, cache, device)
            for variant in cfg.variants(header["model"], quantizer):
                parsed = QuantizationVariant.parse(variant)
                bits, details = assigned[parsed.assignment]
                tuned, codes = model, cache
                if parsed.qat:
                    tuned, history = quantization_aware_training(
                        model, bits, quantizer, data.subsets["train"], validation, cfg.qat, batch_size, seed, device
                    )
                    details, codes = {"qat": history}, {}
                path = directory / quantizer / f"{variant}.sbq"
                record = _packed_record(tuned, header, bits, quantizer, path, cache=codes, **scoring)
                records.append(
                    {**run, "fold": fold, "seed": seed, "variant": variant, **record, **sizes, **details, **stamp()}
                )
        log.info("fold %s seed %d quantized", fold, seed)
    write_json(out_metrics, records)
