"""The quantization study's quantize step: every trained model of a cell with every quantizer and variant, packed
into a real bit-packed file and scored from it."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn

from serbench.atomic import write_json
from serbench.dataset import CorpusFiles, Subset
from serbench.lowbit.importance import average_bits, paper_size_kb
from serbench.lowbit.layers import quantization_layers
from serbench.lowbit.quantizers import FLOAT_BITS, fake_quantize_model
from serbench.metrics import classification_scores, hits_string
from serbench.provenance import stamp
from serbench.settings.names import QuantizationVariant
from serbench.settings.quantization import FINE_TUNED
from serbench.settings.steps import QuantizeStepSettings
from serbench.studies.quantization.models import (
    LengthBatches,
    batch_logits,
    count_parameters,
    length_batches,
    weights_key,
)
from serbench.studies.quantization.packing import load_packed, save_packed, stored_bytes
from serbench.studies.quantization.qat import quantization_aware_training
from serbench.studies.quantization.train_step import cell_label, run_dir, trained_runs
from serbench.studies.quantization.variants import allocations, layer_counts

log = logging.getLogger(__name__)


def _packed_record(
    model: nn.Module,
    header: dict,
    bits: dict[str, int],
    quantizer: str,
    out_model: Path,
    test: Subset,
    batches: LengthBatches,
    cache: dict | None = None,
    predictions: dict[str, np.ndarray] | None = None,
    device: torch.device | str | None = None,
) -> dict:
    """Pack ``model`` at ``bits``, load the file back, score it on ``test`` (its inputs as ``batches``, made once
    per run: :func:`~serbench.studies.quantization.models.length_batches`); sizes, bits and scores of the run.

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
        predictions[key] = batch_logits(packed, batches, device).argmax(dim=1).numpy()
    predicted = predictions[key]
    reference = fake_quantize_model(model, bits, quantizer, cache) if bits else None
    if (
        reference is not None
        and weights_key(reference) != key
        and not np.array_equal(predicted, batch_logits(reference, batches, device).argmax(dim=1).numpy())
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
        batches = length_batches(test.features, test.lengths)
        scoring = {"test": test, "batches": batches, "predictions": predictions, "device": device}
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
