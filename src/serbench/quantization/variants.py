"""Quantization variants of one trained model: fp32, fixedB (B = 1..8) and adaptive."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from torch import nn

from serbench.dataset import Subset
from serbench.metrics import weighted_accuracy
from serbench.quantization.importance import layer_importance
from serbench.quantization.layers import quantization_layers
from serbench.quantization.quantizers import fake_quantize_model
from serbench.quantization.search import search_bit_widths
from serbench.training import predict

_FIXED = re.compile(r"fixed([1-8])")


@dataclass(frozen=True)
class AdaptiveConfig:
    """Settings of the adaptive scheme (config key ``quantization.adaptive``).

    Attributes:
        alpha: weight α of N_P in I(l) (eq. 3); the paper gives no value.
        entropy_weight: weight of the journal version's entropy term (0 = eq. 3 as printed).
        t_margin: T_margin of eq. 4, in accuracy units (0.05 = five points at I(l) = 1).
        candidates: bit-widths the search may choose.
    """

    alpha: float = 0.5
    entropy_weight: float = 0.0
    t_margin: float = 0.05
    candidates: tuple[int, ...] = field(default=(1, 2, 3, 4, 5, 6, 7, 8))


def variant_names(fixed_bits: list[int]) -> list[str]:
    """All variant names for the configured fixed widths, widest first.

    >>> variant_names([8, 2])
    ['fp32', 'fixed8', 'fixed2', 'adaptive']
    """
    return ["fp32", *(f"fixed{b}" for b in sorted(fixed_bits, reverse=True)), "adaptive"]


def variant_bits(
    variant: str, model: nn.Module, validation: Subset, adaptive: AdaptiveConfig
) -> tuple[dict[str, int], dict]:
    """Bit-width per layer for a variant, and what was learned choosing it.

    Args:
        variant: ``fp32``, ``fixed1`` ... ``fixed8`` or ``adaptive``.
        model: the trained float32 model.
        validation: the validation subset, the only data the adaptive search scores.
        adaptive: settings of the adaptive scheme.

    Returns:
        ``(bits, details)``: bits empty for fp32; details hold the layer
        importances and the search trace for ``adaptive``.

    Raises:
        ValueError: an unknown variant name.
    """
    layers = list(quantization_layers(model))
    if variant == "fp32":
        return {}, {}
    if match := _FIXED.fullmatch(variant):
        return {layer: int(match.group(1)) for layer in layers}, {}
    if variant != "adaptive":
        raise ValueError(f"unknown quantization variant {variant!r}; expected fp32, fixed1..fixed8 or adaptive")
    stats = layer_importance(model, adaptive.alpha, adaptive.entropy_weight)
    def validation_accuracy(bits: dict[str, int]) -> float:
        predicted = predict(fake_quantize_model(model, bits), validation.features, validation.lengths)
        return weighted_accuracy(validation.labels, predicted)

    result = search_bit_widths(
        {layer: s["importance"] for layer, s in stats.items()}, validation_accuracy, adaptive.t_margin, adaptive.candidates
    )
    details = {
        "layer_stats": stats,
        "search": {
            "subset": "validation",
            "n_utterances": int(len(validation.labels)),
            "order": result.order,
            "baseline_accuracy": result.baseline_score,
            "trials": result.trials,
        },
    }
    return result.bits, details
