"""Do cheaper Hessian traces allocate as HAWQ-V2's reference does? Layer rankings and widths on trained models.

For each trained model of a cell (the grid's own ``quantization_train`` output), each trace estimator's HAWQ-V2
sensitivities (HAWQ-V2, eq. 4) are compared with those of a reference, 256-sample Hutchinson traces on the same
training utterances: Kendall's τ between the layers' Ω at the ranking width, and at how many of the curves' b̄
budgets the allocated widths are the same. Each estimator's CPU seconds per model are printed beside.

Where the reference itself is in doubt (a block whose Hutchinson trace is negative: no minimum there for HAWQ's
quadratic model), every estimator, the reference included, is also ranked against what Ω predicts, measured: the
increase of the mean cross-entropy on the same utterances when that layer alone is quantized at the ranking width.

FIT's Fisher traces (Zandonati et al. 2023) are compared the same way, named ``fit:<batch>`` (utterances per backward
pass): against ``--reference fit:1``, the exact per-utterance traces, a larger batch's widths are checked at every
budget beside a second draw of the smaller one (``fit:8+1``), the estimator's own noise.

An estimator named with ``+k`` draws its random vectors or signs from the run's seed + k: ``hutchinson:256@256+1``
is a second reference, independent of the first, whose agreement with it is the most any estimator can show.

Run stand-alone after the grid has trained the cell, e.g.::

    python tests/benchmarks/trace_agreement.py --features egemaps --dataset emodb --protocol random \
        --family attention_gru --models 3 --estimator gauss_newton:8 --estimator hutchinson:32@64
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import torch
from grid_cell import add_cell_options, grid_cell
from scipy.stats import kendalltau
from torch import nn

from serbench.lowbit.fisher import gradient_traces
from serbench.lowbit.hessian import curvature_traces, trace_sensitivity
from serbench.lowbit.quantizers import fake_quantize_model
from serbench.lowbit.sensitivity import allocate, layer_sensitivity
from serbench.settings import QuantizationSettings
from serbench.studies.quantization.curves import RANKING_BITS
from serbench.studies.quantization.models import logits
from serbench.studies.quantization.train_step import trained_runs
from serbench.studies.quantization.variants import layer_counts

REFERENCE = "hutchinson:256@256"


def traces(model, utterances, estimator: str, cfg: QuantizationSettings, seed: int):
    """``estimator`` = ``name:count[@utterances][+k]`` (``gauss_newton:<batch>``, ``hutchinson:<samples>``,
    ``auto:<batch>``, ``fit:<batch>``: FIT's Fisher traces; ``@64``: Hutchinson reads the first 64 utterances, by
    default ``curves.hutchinson_utterances``; ``+1``: seeded with ``seed + 1``) -> (traces, CPU seconds)."""
    estimator, _, offset = estimator.partition("+")
    seed += int(offset or 0)
    estimator, _, first = estimator.partition("@")
    name, count = estimator.split(":")
    samples = int(count) if name == "hutchinson" else cfg.curves.hessian_samples
    batch = int(count) if name != "hutchinson" else cfg.curves.trace_batch
    hutchinson = int(first) if first else cfg.curves.hutchinson_utterances
    start = time.process_time()
    if name == "fit":
        found = gradient_traces(model, *utterances, "true", seed, batch)
    else:
        found = curvature_traces(model, *utterances, name, samples, batch, seed, hutchinson)["hessian"]
    return found, time.process_time() - start


def measured_increase(model, utterances, layers: list[str], bits: int, quantizer: str) -> dict[str, float]:
    """Layer -> increase of the mean cross-entropy on ``utterances`` with that layer alone quantized at ``bits``."""
    features, labels, lengths = utterances
    target = torch.as_tensor(labels)

    def loss(assignment: dict[str, int]) -> float:
        scores = logits(fake_quantize_model(model, assignment, quantizer), features, lengths)
        return float(nn.functional.cross_entropy(scores, target))

    return {layer: by_width[bits] for layer, by_width in layer_sensitivity(layers, loss, [bits]).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_cell_options(parser, features="egemaps", protocol="random")
    parser.add_argument("--models", type=int, default=3, help="trained models (fold x seed) compared")
    parser.add_argument("--utterances", type=int, default=None, help="default: curves.hessian_utterances")
    parser.add_argument("--estimator", action="append", required=True, help="name:count, repeatable")
    parser.add_argument("--reference", default=REFERENCE, help=f"the estimator compared with (default {REFERENCE})")
    args = parser.parse_args()
    reference = args.reference
    cfg = QuantizationSettings()
    files = grid_cell(args)
    cell = trained_runs(
        files.models, files.split, files.corpora, cfg.sequences.max_frames, files.normalise, "trace agreement"
    )
    taus = {e: [] for e in args.estimator}
    against_measured = {e: [] for e in [reference, *args.estimator]}
    same = {e: 0 for e in args.estimator}
    seconds = {e: 0.0 for e in [reference, *args.estimator]}
    budgets = cfg.curves.budgets
    for seed, _, model, _, data in itertools.islice(cell, args.models):
        train = data.subsets["train"]
        count = args.utterances or cfg.curves.hessian_utterances
        chosen = np.random.default_rng(seed).permutation(len(train.labels))[:count]
        utterances = (train.features[chosen], train.labels[chosen], train.lengths[chosen])
        counts = layer_counts(model)
        omega = {}
        for estimator in [reference, *args.estimator]:
            found, cpu = traces(model, utterances, estimator, cfg, seed)
            seconds[estimator] += cpu
            omega[estimator] = trace_sensitivity(model, found, cfg.curves.quantizer, cfg.adaptive.candidates)
        bits = min(cfg.adaptive.candidates, key=lambda b: abs(b - RANKING_BITS))
        ranked = [omega[reference][layer][bits] for layer in counts]
        measured = measured_increase(model, utterances, list(counts), bits, cfg.curves.quantizer)
        for estimator in [reference, *args.estimator]:
            predicted = [omega[estimator][layer][bits] for layer in counts]
            against_measured[estimator].append(kendalltau([measured[layer] for layer in counts], predicted)[0])
        for estimator in args.estimator:
            taus[estimator].append(kendalltau(ranked, [omega[estimator][layer][bits] for layer in counts])[0])
            same[estimator] += sum(
                allocate(omega[estimator], counts, b) == allocate(omega[reference], counts, b) for b in budgets
            )
    models = len(next(iter(taus.values())))
    print(f"{args.features}/{args.dataset}/{args.protocol}/{args.family}: {models} models, reference {reference}")
    print(f"  {reference}: {seconds[reference] / models:.2f} CPU-s/model")
    for estimator, found in against_measured.items():
        per_model = np.round(found, 2).tolist()
        print(f"  {estimator} against the measured loss increase: tau {np.nanmean(found):.2f} ({per_model})")
    for estimator in args.estimator:
        print(
            f"  {estimator}: tau {np.mean(taus[estimator]):.2f} (per model {np.round(taus[estimator], 2).tolist()}),"
            f" same widths {same[estimator]}/{models * len(budgets)}, {seconds[estimator] / models:.2f} CPU-s/model"
        )


if __name__ == "__main__":
    main()
