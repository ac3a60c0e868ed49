"""Intervals over seeds and test units: what each covers, checked by simulation."""

import numpy as np
import pytest

from serbench.intervals import seeds_t_interval, seeds_units_interval


def _speaker_study(rng, n_seeds=10, n_speakers=10, per_speaker=50, mean=0.7):
    """Correct counts of a speaker-independent study: speakers differ a lot, seeds a little."""
    speakers = rng.normal(0, 0.1, n_speakers)
    seeds = rng.normal(0, 0.02, n_seeds)
    p = np.clip(mean + seeds[:, None] + speakers[None, :], 0, 1)
    counts = np.full((n_seeds, n_speakers), per_speaker)
    return rng.binomial(counts, p), counts


def test_seeds_units_interval_covers_new_speakers_where_the_seed_interval_does_not():
    rng = np.random.default_rng(1)
    covered = {"units": 0, "seeds": 0}
    trials = 200
    for _ in range(trials):
        correct, counts = _speaker_study(rng)
        low, high = seeds_units_interval(correct, counts, n_resamples=999, seed=int(rng.integers(1 << 30)))
        covered["units"] += low <= 0.7 <= high
        low, high = seeds_t_interval(correct.sum(1) / counts.sum(1))
        covered["seeds"] += low <= 0.7 <= high
    assert covered["units"] / trials >= 0.88  # nominal 0.95; ten speakers make the bootstrap a little narrow
    assert covered["seeds"] / trials <= 0.6  # retraining noise only: it misses the speakers' spread


def test_paired_difference_interval_is_centred_on_the_pooled_difference_and_narrows_with_units():
    rng = np.random.default_rng(0)
    counts = np.full((5, 40), 10)
    reference = rng.binomial(counts, 0.6)
    better = np.minimum(counts, reference + rng.binomial(1, 0.3, counts.shape))
    low, high = seeds_units_interval(better, counts, reference)
    delta = (better - reference).sum() / counts.sum()
    assert low < delta < high and low > 0
    narrow = seeds_units_interval(np.tile(better, 4), np.tile(counts, 4), np.tile(reference, 4))
    assert narrow[1] - narrow[0] < (high - low) * 0.85  # the seeds' share of the width stays


def test_units_a_seed_did_not_test_weigh_nothing_for_it():
    counts = np.array([[5, 5, 0, 0], [0, 0, 5, 5]])  # the random split: each seed its own test utterances
    correct = np.array([[5, 5, 0, 0], [0, 0, 0, 0]])
    low, high = seeds_units_interval(correct, counts)
    assert 0 <= low < 0.5 < high <= 1
    assert seeds_units_interval(correct, counts, correct) == (0.0, 0.0)


def test_shapes_must_agree():
    with pytest.raises(ValueError, match="share a"):
        seeds_units_interval(np.ones((2, 3)), np.ones((3, 2)))
    assert np.isnan(seeds_units_interval(np.ones((1, 1)), np.ones((1, 1)))[0])
    assert np.isnan(seeds_t_interval(np.array([0.5]))[0])
