"""Confidence intervals for pooled accuracy and paired accuracy differences over seeds and test units.

A benchmark's number varies for two reasons: the training seed, and which
utterances (or speakers) happened to be tested. Two intervals, each named for
what it covers:

- :func:`seeds_t_interval`: Student's t interval of the mean of per-seed values
  (one value per seed, all folds of the seed pooled). It covers retraining with
  another seed on the same test set, nothing else.
- :func:`seeds_units_interval`: a two-way (seeds × test units) bootstrap of the
  pooled accuracy, or of the pooled paired difference between two variants
  scored on the same seeds and utterances. Each replicate reweights the seeds
  and, independently, the test units with multinomial counts, so it covers
  both a new seed and a new draw of utterances or speakers from the same
  population: the interval to read before claiming one variant beats another.

Test units are utterances under the random split and speakers under
speaker-independent and cross-corpus protocols, where the utterances of one
speaker are not independent. Units are drawn from the union of the cell's
test units; a unit a seed did not test weighs nothing for that seed, so the
random split, whose test set changes with the seed, is resampled within each
seed (a Poisson-like bootstrap, Hanley & MacGibbon 2006), and a fixed test set
shared by every seed is resampled once for all seeds (crossed factors, as in
Owen 2007, "The pigeonhole bootstrap").
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import stats

N_RESAMPLES = 4999


def seeds_t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Student's t interval of the mean of per-seed ``values`` ``(seeds,)``; NaN with fewer than two.

    >>> low, high = seeds_t_interval(np.array([0.01, 0.03]))
    >>> round(low, 4), round(high, 4)
    (-0.1071, 0.1471)
    >>> seeds_t_interval(np.array([0.02, 0.02]))
    (0.02, 0.02)
    """
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float("nan"), float("nan")
    mean = float(values.mean())
    if np.ptp(values) == 0:
        return mean, mean
    half = stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return float(mean - half), float(mean + half)


def seeds_units_interval(
    correct: np.ndarray,
    counts: np.ndarray,
    reference: np.ndarray | None = None,
    level: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of the pooled accuracy (or paired difference) under a seeds × units bootstrap.

    Args:
        correct: ``(seeds, units)`` correctly classified test utterances of each unit in each seed.
        counts: ``(seeds, units)`` test utterances of each unit in each seed (0 where the seed did not test it).
        reference: ``(seeds, units)`` correct utterances of the reference variant on the same runs; the
            statistic is then the pooled difference ``Σ (correct - reference) / Σ counts``, else ``Σ correct /
            Σ counts``.
        level: coverage (0.95: the 2.5th and 97.5th percentiles).
        n_resamples: bootstrap replicates; ``seed``: their random generator's seed (fixed: reproducible).

    Returns:
        ``(low, high)``; NaN when there is a single seed and a single unit.

    >>> correct = np.array([[3, 5], [4, 4]]); counts = np.array([[5, 5], [5, 5]])
    >>> low, high = seeds_units_interval(correct, counts, reference=correct)
    >>> (low, high)
    (0.0, 0.0)
    """
    correct, counts = np.asarray(correct, dtype=float), np.asarray(counts, dtype=float)
    if correct.shape != counts.shape or (reference is not None and np.shape(reference) != counts.shape):
        raise ValueError(f"correct, counts and reference must share a (seeds, units) shape, got {correct.shape}")
    n_seeds, n_units = counts.shape
    if n_seeds * n_units < 2:
        return float("nan"), float("nan")
    numerator = correct if reference is None else correct - np.asarray(reference, dtype=float)
    seed_weights, unit_weights = _weights(n_seeds, n_units, n_resamples, seed)
    top = ((unit_weights @ numerator.T) * seed_weights).sum(axis=1)  # (resamples,)
    bottom = ((unit_weights @ counts.T) * seed_weights).sum(axis=1)
    replicates = top[bottom > 0] / bottom[bottom > 0]
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(replicates, [tail, 100 - tail])
    return float(low), float(high)


def recall_difference_interval(
    a: tuple[np.ndarray, np.ndarray],
    b: tuple[np.ndarray, np.ndarray],
    level: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of ``UA(a) - UA(b)`` under a seeds × units bootstrap, UA being the unweighted mean over
    classes of the pooled recall ``Σ correct_c / Σ counts_c`` (the field's UA, pooled as the accuracy above).

    Args:
        a, b: ``(correct, counts)``, each ``(seeds, units, classes)`` on shared seed and unit axes (a unit one of
            them did not test counts 0 there); ``b``'s test set may differ from ``a``'s.
        level, n_resamples, seed: as :func:`seeds_units_interval`.

    Returns:
        ``(low, high)``; NaN when there is a single seed and a single unit.

    >>> counts = np.ones((2, 3, 2)); hits = np.array([[[1, 0], [1, 1], [0, 1]], [[1, 1], [1, 0], [1, 1]]])
    >>> recall_difference_interval((hits, counts), (hits, counts))
    (0.0, 0.0)
    """
    arrays = [np.asarray(x, dtype=float) for x in (*a, *b)]
    if len({x.shape for x in arrays}) != 1 or arrays[0].ndim != 3:
        raise ValueError(f"a and b must share a (seeds, units, classes) shape, got {[x.shape for x in arrays]}")
    n_seeds, n_units, _ = arrays[0].shape
    if n_seeds * n_units < 2:
        return float("nan"), float("nan")
    seed_weights, unit_weights = _weights(n_seeds, n_units, n_resamples, seed)
    pooled = [np.einsum("rs,ru,suc->rc", seed_weights, unit_weights, x) for x in arrays]  # (resamples, classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        replicates = np.nanmean(pooled[0] / pooled[1], axis=1) - np.nanmean(pooled[2] / pooled[3], axis=1)
    tail = 100 * (1 - level) / 2
    low, high = np.nanpercentile(replicates, [tail, 100 - tail])
    return float(low), float(high)


@functools.lru_cache(maxsize=4)
def _weights(n_seeds: int, n_units: int, n_resamples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial resampling counts ``(resamples, seeds)`` and ``(resamples, units)``, drawn once per shape: every
    row of a table cell is resampled with the same draws (common random numbers), and reproducibly."""
    rng = np.random.default_rng(seed)
    seeds = rng.multinomial(n_seeds, np.full(n_seeds, 1 / n_seeds), size=n_resamples).astype(float)
    units = rng.multinomial(n_units, np.full(n_units, 1 / n_units), size=n_resamples).astype(float)
    return seeds, units
