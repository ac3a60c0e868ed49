"""Quantization variants of one trained model: fp32, fixedB (B = 1..8) and adaptive."""

from __future__ import annotations

import re

from torch import nn

from serbench.dataset import Subset
from serbench.metrics import weighted_accuracy
from serbench.models import predict
from serbench.quantization.importance import layer_importance
from serbench.quantization.layers import quantization_layers
from serbench.quantization.quantizers import fake_quantize_model
from serbench.quantization.search import search_bit_widths
from serbench.settings import AdaptiveSettings

_FIXED = re.compile(r"fixed([1-8])")


def variant_bits(
    variant: str, model: nn.Module, validation: Subset, adaptive: AdaptiveSettings
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
        {layer: s["importance"] for layer, s in stats.items()},
        validation_accuracy,
        adaptive.t_margin,
        adaptive.candidates,
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
