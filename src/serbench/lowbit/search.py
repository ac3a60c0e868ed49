"""Importance-guided bit-width search (Shinde et al. 2024, Sec. 2.2.2, eq. 4).

Layers are visited in descending importance. For each, bit-widths are tried
from the lowest upwards, with the layers already visited at their chosen
widths and the rest in float32; the first width whose validation-score drop
from the float32 model stays within ``T_margin(l) = T_margin · I(l)`` is kept.
If none does, the layer gets the widest candidate.

The search sees validation data only: the caller passes a scoring function
closed over the validation split, and the returned trace records every
evaluation so that a run can be audited.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from serbench.errors import InputError


@dataclass
class SearchResult:
    """Outcome of :func:`search_bit_widths`.

    Attributes:
        bits: chosen bit-width per layer.
        order: layers in the order visited (descending importance).
        baseline_score: float32 model's validation score.
        trials: one dict per evaluation: ``layer``, ``bits``, ``score``,
            ``drop``, ``margin``, ``accepted``.
    """

    bits: dict[str, int]
    order: list[str]
    baseline_score: float
    trials: list[dict] = field(default_factory=list)


def search_bit_widths(
    importance: dict[str, float],
    score: Callable[[dict[str, int]], float],
    t_margin: float,
    candidates: Sequence[int] = (1, 2, 3, 4, 5, 6, 7, 8),
) -> SearchResult:
    """Choose a bit-width per layer by eq. 4.

    Args:
        importance: I(l) per layer (eq. 3).
        score: validation score (accuracy in [0, 1]) of the model with the given
            layers quantized to the given widths, others in float32;
            ``score({})`` is the float32 baseline.
        t_margin: T_margin, the allowed drop (in score units) scaled by I(l).
        candidates: bit-widths to try, tried in ascending order.

    Returns:
        The chosen widths and the full trace.

    Raises:
        ValueError: negative ``t_margin`` or no candidates.
    """
    if t_margin < 0 or not candidates:
        raise InputError(f"T_margin must be >= 0 and candidates non-empty (got {t_margin}, {list(candidates)})")
    widths = sorted(candidates)
    order = sorted(importance, key=lambda layer: importance[layer], reverse=True)
    baseline = score({})
    result = SearchResult(bits={}, order=order, baseline_score=baseline)
    for layer in order:
        margin = t_margin * importance[layer]
        result.bits[layer] = widths[-1]
        for width in widths:
            trial_score = score({**result.bits, layer: width})
            accepted = baseline - trial_score <= margin
            result.trials.append(
                {
                    "layer": layer,
                    "bits": width,
                    "score": trial_score,
                    "drop": baseline - trial_score,
                    "margin": margin,
                    "accepted": accepted,
                }
            )
            if accepted:
                result.bits[layer] = width
                break
    return result
