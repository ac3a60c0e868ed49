"""Layer importance and average bit-width (Shinde et al. 2024, eqs. 1, 2, 3, 5).

Statistics are taken over all parameters of a layer (weights and biases), the
same set whose count enters ``N_P``.
"""

from __future__ import annotations

import math

import numpy as np
from torch import nn

from serbench.lowbit.layers import quantization_layers

ENTROPY_BINS = 256


def layer_values(model: nn.Module) -> dict[str, np.ndarray]:
    """Layer name -> all its parameter values flattened, shape ``(n_params,)``."""
    params = dict(model.named_parameters())
    return {
        layer: np.concatenate([params[n].detach().numpy().ravel() for n in names])
        for layer, names in quantization_layers(model).items()
    }


def parameter_proportion(counts: dict[str, int]) -> dict[str, float]:
    """N_P(l) = parameters in layer l / total parameters (eq. 1).

    >>> parameter_proportion({"a": 1, "b": 3})
    {'a': 0.25, 'b': 0.75}
    """
    total = sum(counts.values())
    return {layer: n / total for layer, n in counts.items()}


def normalized_variance(variances: dict[str, float]) -> dict[str, float]:
    """N_V(l) = ln(e - 1 + Var(l) / max_k Var(k)) (eq. 2); lies in [ln(e-1), 1].

    >>> {k: round(v, 4) for k, v in normalized_variance({"a": 0.0, "b": 2.0}).items()}
    {'a': 0.5413, 'b': 1.0}
    """
    peak = max(variances.values())
    return {layer: math.log(math.e - 1 + (v / peak if peak > 0 else 0.0)) for layer, v in variances.items()}


def weight_entropy(values: np.ndarray, bins: int = ENTROPY_BINS) -> float:
    """Shannon entropy in bits of a layer's weight histogram (``bins`` equal bins over its range).

    >>> weight_entropy(np.array([0.0, 1.0]), bins=2)
    1.0
    """
    counts, _ = np.histogram(values, bins=bins)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def normalized_entropy(entropies: dict[str, float]) -> dict[str, float]:
    """N_E(l) = H(l) / max_k H(k): the journal version's entropy term, on N_V's scale of at most 1.

    The PMLR abstract names weight entropy as a third statistic without a
    formula; this normalization by the largest layer entropy is serbench's reading.
    """
    peak = max(entropies.values())
    return {layer: (h / peak if peak > 0 else 0.0) for layer, h in entropies.items()}


def layer_importance(model: nn.Module, alpha: float, entropy_weight: float = 0.0) -> dict[str, dict[str, float]]:
    """I(l) = α·N_P(l) + (1 − α − w_E)·N_V(l) + w_E·N_E(l) (eq. 3, plus the journal's entropy term).

    With ``entropy_weight = 0`` this is the workshop paper's eq. 3 exactly.

    Args:
        model: a registered classifier.
        alpha: weight of N_P, in [0, 1].
        entropy_weight: weight w_E of N_E; ``alpha + entropy_weight <= 1``.

    Returns:
        Layer name -> ``{"n_params", "n_p", "n_v", "n_e", "importance"}``.

    Raises:
        ValueError: weights outside [0, 1] or summing above 1.
    """
    if not (0 <= alpha <= 1 and 0 <= entropy_weight <= 1 and alpha + entropy_weight <= 1):
        raise ValueError(
            f"importance weights alpha={alpha}, entropy_weight={entropy_weight} must be in [0, 1] and sum to at most 1"
        )
    values = layer_values(model)
    n_p = parameter_proportion({layer: v.size for layer, v in values.items()})
    n_v = normalized_variance({layer: float(v.var()) for layer, v in values.items()})
    n_e = normalized_entropy({layer: weight_entropy(v) for layer, v in values.items()})
    variance_weight = 1 - alpha - entropy_weight
    return {
        layer: {
            "n_params": int(values[layer].size),
            "n_p": n_p[layer],
            "n_v": n_v[layer],
            "n_e": n_e[layer],
            "importance": alpha * n_p[layer] + variance_weight * n_v[layer] + entropy_weight * n_e[layer],
        }
        for layer in values
    }


def average_bits(counts: dict[str, int], bits: dict[str, int]) -> float:
    """b̄ = Σ_l N_P(l) · b(l) (eq. 5).

    >>> average_bits({"a": 1, "b": 3}, {"a": 8, "b": 2})
    3.5
    """
    return sum(share * bits[layer] for layer, share in parameter_proportion(counts).items())


def paper_size_kb(n_params: int, avg_bits: float) -> float:
    """Model size as the paper counts it: parameters × b̄ / 8 / 1000, in KB (1 KB = 1000 bytes).

    >>> paper_size_kb(169_000, 32)
    676.0
    """
    return n_params * avg_bits / 8 / 1000
