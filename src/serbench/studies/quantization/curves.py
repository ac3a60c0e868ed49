"""Allocators traced as curves: each allocator over its own knob, under one quantizer, on the same trained models.

A table row of the quantization study is one point per allocator; a reader
comparing allocators needs each one's whole accuracy-against-b̄ curve. Per
trained model (fold × seed) of a cell:

- ``importance``: the paper's search (eq. 4) over a sweep of T_margin, scored
  by search-subset accuracy, as printed;
- ``importance_ll``: the same search scored by the mean log-likelihood of the
  true class on the same utterances (a drop in nats): a signal that moves with
  every utterance's confidence, not only when one changes class;
- ``sensitivity``: the measured search-subset loss increase per layer and width,
  over a sweep of b̄ budgets;
- ``hessian``: HAWQ-V2 (:mod:`serbench.quantization.hessian`) over the same
  budgets, its Hessian traces estimated on training utterances.

Every point is scored on the test split by the fake-quantized model (the
quantize step checks that packed files predict exactly as those do).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from serbench.atomic import write_json
from serbench.dataset import CorpusFiles, SplitData, Subset
from serbench.metrics import weighted_accuracy
from serbench.models import logits
from serbench.provenance import stamp
from serbench.quantization.hessian import hessian_sensitivity, hessian_traces
from serbench.quantization.importance import average_bits, layer_importance
from serbench.quantization.quantizers import FLOAT_BITS, fake_quantize_model
from serbench.quantization.search import search_bit_widths
from serbench.quantization.sensitivity import allocate, layer_sensitivity
from serbench.quantization.variants import layer_counts
from serbench.settings.quantization import AllocatorCurveSettings, QuantizationSettings
from serbench.studies.quantization.pooling import hits_string
from serbench.studies.quantization.steps import cell_label, trained_runs

log = logging.getLogger(__name__)
Point = tuple[str, str, float, dict[str, int]]  # (allocator, knob, knob value, bits per layer)


def _scorer(model: nn.Module, subset: Subset, quantizer: str) -> Callable[[dict[str, int]], torch.Tensor]:
    """Logits ``(N, classes)`` of ``subset`` under a width assignment, each assignment computed once."""
    cache, memo = {}, {}

    def scores(bits: dict[str, int]) -> torch.Tensor:
        key = tuple(sorted(bits.items()))
        if key not in memo:
            with torch.no_grad():
                memo[key] = logits(fake_quantize_model(model, bits, quantizer, cache), subset.features, subset.lengths)
        return memo[key]

    return scores


def curve_points(model: nn.Module, data: SplitData, cfg: QuantizationSettings, seed: int) -> list[Point]:
    """Every allocator's assignment at every value of its knob, for one trained model.

    The search-based allocators read the fold's ``search`` subset (the validation half that did not choose the
    epoch; the whole validation split where there is none); the Hessian reads ``cfg.curves.hessian_utterances``
    training utterances. Nothing reads the test split.
    """
    curves: AllocatorCurveSettings = cfg.curves
    search = data.subsets.get("search", data.subsets["validation"])
    labels = torch.as_tensor(search.labels)
    scores = _scorer(model, search, curves.quantizer)
    counts = layer_counts(model)

    def accuracy(bits: dict[str, int]) -> float:
        return weighted_accuracy(search.labels, scores(bits).argmax(dim=1).numpy())

    def log_likelihood(bits: dict[str, int]) -> float:
        return -float(nn.functional.cross_entropy(scores(bits), labels))

    importance = {
        layer: s["importance"]
        for layer, s in layer_importance(model, cfg.adaptive.alpha, cfg.adaptive.entropy_weight).items()
    }
    candidates = cfg.adaptive.candidates
    points: list[Point] = []
    for allocator, score in (("importance", accuracy), ("importance_ll", log_likelihood)):
        for margin in curves.t_margins:
            points.append(
                (allocator, "t_margin", margin, search_bit_widths(importance, score, margin, candidates).bits)
            )
    sensitivity = layer_sensitivity(list(counts), lambda bits: -log_likelihood(bits), candidates)
    train = data.subsets["train"]
    chosen = np.random.default_rng(seed).permutation(len(train.labels))[: curves.hessian_utterances]
    traces = hessian_traces(
        model, train.features[chosen], train.labels[chosen], train.lengths[chosen], curves.hessian_samples, seed
    )
    omega = hessian_sensitivity(model, traces, curves.quantizer, candidates)
    for budget in curves.budgets:
        points.append(("sensitivity", "budget", budget, allocate(sensitivity, counts, budget)))
        points.append(("hessian", "budget", budget, allocate(omega, counts, budget)))
    return points


def allocator_curves(
    models_dir: str,
    split_path: str,
    corpora: dict[str, CorpusFiles],
    cfg: QuantizationSettings,
    max_frames: int,
    run: dict,
    out_metrics: str,
    normalise: str = "none",
) -> None:
    """Trace every allocator of :func:`curve_points` on every trained model of a cell; score each point on test.

    Writes one JSON list of records to ``out_metrics``: the float32 model (``allocator`` ``fp32``) and each
    point per fold and seed, with its knob, widths, b̄ (eq. 5) and each test utterance's result
    (``test_utterances``, ``test_speakers``, ``test_correct``), as the quantize step's records.
    """
    records = []
    cell = trained_runs(models_dir, split_path, corpora, max_frames, normalise, f"allocator curves {cell_label(run)}")
    for seed, fold, model, _, data in cell:
        test = data.subsets["test"]
        score = _scorer(model, test, cfg.curves.quantizer)
        counts = layer_counts(model)
        common = {**run, "fold": fold, "seed": seed, "quantizer": cfg.curves.quantizer, **stamp()}
        common |= {"test_utterances": test.ids.tolist(), "test_speakers": test.speakers.tolist()}
        points = [("fp32", "", float("nan"), {}), *curve_points(model, data, cfg, seed)]
        for allocator, knob, value, bits in points:
            hits = score(bits).argmax(dim=1).numpy() == test.labels
            records.append(
                common
                | {"allocator": allocator, "knob": knob, "value": value, "bits": bits}
                | {"avg_bits": average_bits(counts, bits) if bits else FLOAT_BITS, "n_test": len(hits)}
                | {"n_correct": int(hits.sum()), "test_correct": hits_string(hits)}
            )
        log.info("fold %s seed %d: %d allocator points", fold, seed, len(points))
    write_json(out_metrics, records)
