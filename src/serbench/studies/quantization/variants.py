"""The bit-width assignments of one trained model under one quantizer: fixed widths, the paper's adaptive
(importance-guided) search, and the sensitivity allocator at the adaptive assignment's b̄.

Every score the allocators compare is taken on the ``search`` subset only: a
share of the validation utterances that did not choose the early-stopping
epoch (see ``quantization.search_fraction``).
"""

from __future__ import annotations

import torch
from torch import nn

from serbench.dataset import Subset
from serbench.lowbit.importance import average_bits, layer_importance
from serbench.lowbit.layers import quantization_layers
from serbench.lowbit.search import search_bit_widths
from serbench.lowbit.sensitivity import allocate, layer_sensitivity
from serbench.settings.names import QuantizationVariant
from serbench.settings.steps import QuantizeStepSettings
from serbench.studies.quantization.scoring import AssignmentScores


def layer_counts(model: nn.Module) -> dict[str, int]:
    """Parameters per layer of :func:`quantization_layers`."""
    params = dict(model.named_parameters())
    return {layer: sum(params[n].numel() for n in names) for layer, names in quantization_layers(model).items()}


def allocations(
    model: nn.Module,
    search: Subset,
    cfg: QuantizeStepSettings,
    quantizer: str,
    cache: dict | None = None,
    device: torch.device | str | None = None,
) -> dict[str, tuple]:
    """Bit-width per layer of every post-training variant, and what was learned choosing it.

    Args:
        model: the trained float32 model.
        search: the subset the allocators score (validation utterances that did not choose the epoch).
        cfg: fixed widths, adaptive settings, whether to run the sensitivity allocator.
        quantizer: a registered quantizer.
        cache: codes of this model and quantizer, kept for packing (``quantizers.cached_codes``).
        device: where the scored models run (:func:`serbench.studies.quantization.models.logits`).

    Returns:
        Variant -> ``(bits, details)``: ``fixed<b>`` (every layer at b), ``adaptive`` (eq. 4's search on
        ``cfg.adaptive.signal``: accuracy as printed, or the log-likelihood of the true class; with
        the layer importances and the full trace), ``sensitivity`` (the measured loss increases and the b̄
        budget it met).
    """
    counts = layer_counts(model)
    out: dict[str, tuple] = {
        QuantizationVariant("fixed", b).name: ({layer: b for layer in counts}, {}) for b in cfg.fixed_bits
    }

    scores = AssignmentScores(model, search, quantizer, cache, device)
    stats = layer_importance(model, cfg.adaptive.alpha, cfg.adaptive.entropy_weight)
    importance = {layer: s["importance"] for layer, s in stats.items()}
    score = scores.accuracy if cfg.adaptive.signal == "accuracy" else scores.log_likelihood
    result = search_bit_widths(importance, score, cfg.adaptive.t_margin, cfg.adaptive.candidates)
    out["adaptive"] = (
        result.bits,
        {
            "layer_stats": stats,
            "search": {
                "subset": "search",
                "signal": cfg.adaptive.signal,
                "n_utterances": int(len(search.labels)),
                "order": result.order,
                "baseline_score": result.baseline_score,
                "trials": result.trials,
            },
        },
    )
    if cfg.sensitivity:
        budget = average_bits(counts, result.bits)
        sensitivity = layer_sensitivity(
            list(counts), lambda bits: -scores.log_likelihood(bits), cfg.adaptive.candidates
        )
        out["sensitivity"] = (
            allocate(sensitivity, counts, budget),
            {
                "sensitivity": {"subset": "search", "loss_increase": sensitivity, "budget_avg_bits": budget},
            },
        )
    return out
