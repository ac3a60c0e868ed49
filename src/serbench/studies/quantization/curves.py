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
- ``hessian``: HAWQ-V2 (:mod:`serbench.lowbit.hessian`) over the same
  budgets, its Hessian traces estimated on training utterances
  (``curves.hessian_estimator``; by default each family's
  :attr:`~serbench.studies.quantization.models.base.Classifier.hawq_estimator`: from plain gradients
  for the MLP, the 1DCNN and the LSTM, by Hutchinson's method for the
  AttentionGRU);
- ``fit``: FIT (Zandonati et al. 2023) over the same budgets: HAWQ-V2's form
  with the empirical Fisher's traces (first-order gradients at the true labels,
  :mod:`serbench.lowbit.fisher`) on the same utterances.

Each allocator also ranks the layers (``layer_scores``): I(l) for the
importance allocators, the predicted or measured loss increase of each layer
alone at :data:`RANKING_BITS` bits for the others; the allocator table compares
each ranking with HAWQ's (Kendall τ). The trace allocators record each layer's
trace and its standard error.

Every point is scored on the test split by the fake-quantized model (the
quantize step checks that packed files predict exactly as those do); a point
whose widths the quantize step already scored under the same quantizer (the
float model, fixed widths, the adaptive search at its T_margin) takes that
step's result, the same predictions, instead of running the test split again.
"""

from __future__ import annotations

import json
import logging
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from serbench.atomic import write_json
from serbench.dataset import CorpusFiles, SplitData
from serbench.device import on_device
from serbench.lowbit.fisher import Trace
from serbench.lowbit.hessian import curvature_traces, trace_sensitivity
from serbench.lowbit.importance import average_bits, layer_importance
from serbench.lowbit.quantizers import FLOAT_BITS
from serbench.lowbit.search import search_bit_widths
from serbench.lowbit.sensitivity import allocate, layer_sensitivity
from serbench.metrics import hits_string
from serbench.provenance import stamp
from serbench.settings.names import QuantizationVariant
from serbench.settings.quantization import AllocatorCurveSettings
from serbench.settings.steps import AllocatorStepSettings
from serbench.studies.quantization.scoring import AssignmentScores
from serbench.studies.quantization.train_step import cell_label, trained_runs
from serbench.studies.quantization.variants import layer_counts

log = logging.getLogger(__name__)
Point = tuple[str, str, float, dict[str, int]]  # (allocator, knob, knob value, bits per layer)
RANKING_BITS = 2  # the width at which the loss-increase allocators rank layers


class Curves(NamedTuple):
    """What :func:`curve_points` finds for one model: the points, each allocator's layer scores (higher = more
    sensitive) and the trace allocators' traces."""

    points: list[Point]
    layer_scores: dict[str, dict[str, float]]
    traces: dict[str, dict[str, Trace]]


def curve_points(
    model: nn.Module, data: SplitData, cfg: AllocatorStepSettings, seed: int, device: torch.device | str | None = None
) -> Curves:
    """Every allocator's assignment at every value of its knob, for one trained model, its scores and traces
    computed on ``device``.

    The search-based allocators read the fold's ``search`` subset (the validation half that did not choose the
    epoch; the whole validation split where there is none); the Hessian and Fisher traces read
    ``cfg.curves.hessian_utterances`` training utterances (Hutchinson's Hessian-vector products the first
    ``cfg.curves.hutchinson_utterances`` of them). Nothing reads the test split.
    """
    curves: AllocatorCurveSettings = cfg.curves
    search = data.subsets.get("search", data.subsets["validation"])
    scores = AssignmentScores(model, search, curves.quantizer, device=device)
    counts = layer_counts(model)
    accuracy, log_likelihood = scores.accuracy, scores.log_likelihood

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
    train = data.subsets["train"]
    chosen = np.random.default_rng(seed).permutation(len(train.labels))[: curves.hessian_utterances]
    utterances = (train.features[chosen], train.labels[chosen], train.lengths[chosen])
    traces = curvature_traces(
        on_device(model, device),
        *utterances,
        curves.hessian_estimator,
        curves.hessian_samples,
        curves.trace_batch,
        seed,
        curves.hutchinson_utterances,
        curves.fit_batch,
    )
    increases = {"sensitivity": layer_sensitivity(list(counts), lambda bits: -log_likelihood(bits), candidates)}
    increases |= {name: trace_sensitivity(model, t, curves.quantizer, candidates) for name, t in traces.items()}
    for budget in curves.budgets:
        for allocator, increase in increases.items():
            points.append((allocator, "budget", budget, allocate(increase, counts, budget)))
    ranking_bits = min(candidates, key=lambda b: abs(b - RANKING_BITS))
    layer_scores = {name: dict(importance) for name in ("importance", "importance_ll")}
    layer_scores |= {name: {layer: s[ranking_bits] for layer, s in inc.items()} for name, inc in increases.items()}
    return Curves(points, layer_scores, traces)


def assignment_key(bits: dict[str, int]) -> tuple[tuple[str, int], ...]:
    """An assignment as a key: its quantized layers and widths, sorted (float32 layers left out).

    >>> assignment_key({"out": 2, "gru.ih_l0": 32, "gru.hh_l0": 4})
    (('gru.hh_l0', 4), ('out', 2))
    """
    return tuple(sorted((layer, b) for layer, b in bits.items() if b != FLOAT_BITS))


def scored_assignments(metrics_path: str, quantizer: str) -> dict[tuple[str, int], dict]:
    """The quantize step's test results of each post-training assignment under ``quantizer`` (and the float
    model), per run: ``(fold, seed)`` -> ``{"test_utterances": [...], "hits": {assignment_key: "0110..."}}``.
    QAT's fine-tuned models carry other weights and are left out."""
    runs: dict[tuple[str, int], dict] = {}
    with open(metrics_path) as handle:
        records = json.load(handle)
    for record in records:
        variant = QuantizationVariant.parse(record["variant"])
        if variant.suffix or record["quantizer"] not in (quantizer, "none"):
            continue
        run = runs.setdefault(
            (record["fold"], record["seed"]), {"test_utterances": record["test_utterances"], "hits": {}}
        )
        run["hits"][assignment_key(record["bits"])] = record["test_correct"]
    return runs


def allocator_curves(
    models_dir: str,
    split_path: str,
    corpora: dict[str, CorpusFiles],
    cfg: AllocatorStepSettings,
    max_frames: int,
    run: dict,
    out_metrics: str,
    normalise: str = "none",
    device: torch.device | str = "cpu",
    quantized_metrics: str | None = None,
) -> None:
    """Trace every allocator of :func:`curve_points` on every trained model of a cell, on ``device``; score each
    point on test, or take its result from the quantize step's records of the same cell (``quantized_metrics``)
    where that step scored the same widths (:func:`scored_assignments`).

    Writes one JSON list of records to ``out_metrics``: the float32 model (``allocator`` ``fp32``) and each
    point per fold and seed, with its knob, widths, b̄ (eq. 5) and each test utterance's result
    (``test_utterances``, ``test_speakers``, ``test_correct``), as the quantize step's records, and the
    allocator's ``layer_scores`` and (trace allocators) ``traces``: layer -> ``[trace, standard error]``.
    """
    records = []
    known = scored_assignments(quantized_metrics, cfg.curves.quantizer) if quantized_metrics else {}
    cell = trained_runs(models_dir, split_path, corpora, max_frames, normalise, f"allocator curves {cell_label(run)}")
    for seed, fold, model, _, data in cell:
        test = data.subsets["test"]
        scores = AssignmentScores(model, test, cfg.curves.quantizer, device=device)
        scored = known.get((fold, seed), {})
        hits_of = scored["hits"] if scored.get("test_utterances") == test.ids.tolist() else {}
        taken = 0
        counts = layer_counts(model)
        common = {**run, "fold": fold, "seed": seed, "quantizer": cfg.curves.quantizer, **stamp()}
        common |= {"test_utterances": test.ids.tolist(), "test_speakers": test.speakers.tolist()}
        found = curve_points(model, data, cfg, seed, device)
        points = [("fp32", "", float("nan"), {}), *found.points]
        for allocator, knob, value, bits in points:
            if assignment_key(bits) in hits_of:
                hits, taken = np.array([hit == "1" for hit in hits_of[assignment_key(bits)]]), taken + 1
            else:
                hits = scores.logits(bits).argmax(dim=1).cpu().numpy() == test.labels
            records.append(
                common
                | {"allocator": allocator, "knob": knob, "value": value, "bits": bits}
                | {"avg_bits": average_bits(counts, bits) if bits else FLOAT_BITS, "n_test": len(hits)}
                | {"n_correct": int(hits.sum()), "test_correct": hits_string(hits)}
                | {"layer_scores": found.layer_scores.get(allocator, {})}
                | {"traces": {layer: list(t) for layer, t in found.traces.get(allocator, {}).items()}}
            )
        log.info(
            "fold %s seed %d: %d allocator points, %d test scores from the quantize step",
            fold,
            seed,
            len(points),
            taken,
        )
    write_json(out_metrics, records)
