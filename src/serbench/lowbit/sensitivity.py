"""A standard mixed-precision allocator beside the paper's I(l): measured sensitivity under a size budget.

The sensitivity of layer ``l`` at ``b`` bits is the increase of the validation
cross-entropy when ``l`` alone is quantized to ``b`` bits and every other layer
stays float32: ``s(l, b) = L(W with W_l quantized at b) - L(W)``. This is the
measured counterpart of HAWQ's Hessian-trace estimate of the same second-order
loss increase (Dong et al. 2019, 2020), and the objective of Pareto-frontier
allocators (HAWQ-V2/V3): choose one width per layer minimising ``Σ_l s(l, b_l)``
subject to ``b̄ = Σ_l N_P(l)·b_l <= budget`` (eq. 5's b̄). With a handful of
layers the choice is made exactly, over every combination.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np

from serbench.errors import InputError

MAX_COMBINATIONS = 8**6


def layer_sensitivity(
    layers: Sequence[str], loss: Callable[[dict[str, int]], float], candidates: Sequence[int]
) -> dict[str, dict[int, float]]:
    """``s(l, b)`` for every layer and candidate width.

    Args:
        layers: layer names.
        loss: validation loss of the model with the given layers quantized (others float32); ``loss({})`` is
            the float32 model's.
        candidates: bit-widths.

    Returns:
        Layer -> width -> loss increase (may be negative: quantization noise can help).
    """
    baseline = loss({})
    return {layer: {b: loss({layer: b}) - baseline for b in candidates} for layer in layers}


def allocate(sensitivity: dict[str, dict[int, float]], counts: dict[str, int], average_bits: float) -> dict[str, int]:
    """The widths with the least summed sensitivity whose b̄ (eq. 5) does not exceed ``average_bits``.

    Ties go to the smaller model. Exhaustive over every combination of the
    candidate widths.

    >>> s = {"a": {1: 0.5, 2: 0.1}, "b": {1: 0.2, 2: 0.0}}
    >>> allocate(s, {"a": 1, "b": 3}, 1.5), allocate(s, {"a": 1, "b": 3}, 1.2)
    ({'a': 2, 'b': 1}, {'a': 1, 'b': 1})

    Raises:
        ValueError: no combination fits the budget, or there are too many combinations to try.
    """
    layers = list(sensitivity)
    widths = [sorted(sensitivity[layer]) for layer in layers]
    n_combinations = int(np.prod([len(w) for w in widths]))
    if n_combinations > MAX_COMBINATIONS:
        raise ValueError(f"{n_combinations} bit-width combinations over {len(layers)} layers exceed {MAX_COMBINATIONS}")
    index = np.array(list(itertools.product(*(range(len(w)) for w in widths))))  # (combinations, layers)
    grid = np.stack([np.array(w)[index[:, i]] for i, w in enumerate(widths)], axis=1)
    cost = sum(
        np.array([sensitivity[layer][b] for b in w])[index[:, i]] for i, (layer, w) in enumerate(zip(layers, widths))
    )
    shares = np.array([counts[layer] for layer in layers], dtype=float) / sum(counts.values())
    size = grid @ shares
    feasible = size <= average_bits + 1e-9
    if not feasible.any():
        raise InputError(f"no bit-width combination has b̄ <= {average_bits:.3f}; the smallest is {size.min():.3f}")
    order = np.lexsort((size[feasible], cost[feasible]))
    best = grid[feasible][order[0]]
    return {layer: int(b) for layer, b in zip(layers, best)}
