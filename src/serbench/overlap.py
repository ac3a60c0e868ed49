"""Speaker overlap: how much UA a protocol whose test speakers also train (EmoBox's EmoDB folds) gains over speaker
folds, for the same model, seeds and settings.

Both studies with folds score every family on EmoBox's published folds and on speaker folds; this pools each
protocol's test utterances over folds and seeds per class (UA = the unweighted mean of the class recalls) and gives
``UA(shared) - UA(independent)`` with two 95 % intervals: Student's t over the per-seed differences (another seed,
the same test set) and a seeds × test-speakers bootstrap (:func:`serbench.intervals.recall_difference_interval`;
another seed and another draw of speakers). Only seeds run under both protocols count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from serbench.intervals import recall_difference_interval, seeds_t_interval

GAIN_COLUMNS = [
    "ua_emobox",
    "ua_speaker_folds",
    "overlap_gain",
    "overlap_gain_ci95_seeds_low",
    "overlap_gain_ci95_seeds_high",
    "overlap_gain_ci95_seeds_speakers_low",
    "overlap_gain_ci95_seeds_speakers_high",
    "n_seeds",
    "n_test_emobox",
    "n_test_speaker_folds",
]


def _counts(rows: pd.DataFrame, seeds: pd.Index, speakers: pd.Index, classes: pd.Index) -> tuple[np.ndarray, ...]:
    """``(correct, tested)``, each ``(seeds, speakers, classes)``."""
    grouped = rows.groupby(["seed", "speaker", "emotion"])["correct"].agg(["sum", "size"])
    grouped = grouped.reindex(pd.MultiIndex.from_product([seeds, speakers, classes]), fill_value=0)
    return tuple(grouped[c].to_numpy(float).reshape(len(seeds), len(speakers), len(classes)) for c in ("sum", "size"))


def _ua(correct: np.ndarray, tested: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nanmean(correct.sum(axis) / tested.sum(axis), axis=-1)


def ua_gain(emobox: pd.DataFrame, speaker_folds: pd.DataFrame) -> dict[str, float]:
    """UA on EmoBox's folds minus UA on speaker folds, pooled over folds and seeds, with both intervals.

    Args:
        emobox, speaker_folds: one row per test utterance of a run: ``seed, utterance, speaker, emotion, correct``
            (bool).

    Returns:
        :data:`GAIN_COLUMNS` (UA as fractions; ``n_test_*`` distinct test utterances); NaN UA where no seed is
        shared.
    """
    seeds = pd.Index(sorted(set(emobox["seed"]) & set(speaker_folds["seed"])))
    both = pd.concat([emobox, speaker_folds])
    speakers, classes = pd.Index(sorted(both["speaker"].unique())), pd.Index(sorted(both["emotion"].unique()))
    a, b = (_counts(rows[rows["seed"].isin(seeds)], seeds, speakers, classes) for rows in (emobox, speaker_folds))
    ua_a, ua_b = _ua(*a, (0, 1)), _ua(*b, (0, 1))
    t_low, t_high = seeds_t_interval(_ua(*a, (1,)) - _ua(*b, (1,)))
    low, high = recall_difference_interval(a, b)
    return dict(
        zip(
            GAIN_COLUMNS,
            [ua_a, ua_b, ua_a - ua_b, t_low, t_high, low, high, len(seeds)]
            + [rows["utterance"].nunique() for rows in (emobox, speaker_folds)],
        )
    )


def gain_table(rows: pd.DataFrame, keys: list[str], by: str, emobox: str, speaker_folds: str) -> pd.DataFrame:
    """:func:`ua_gain` per group of ``keys`` that ran both ways: ``rows[by] == emobox`` against ``== speaker_folds``.

    Args:
        rows: one row per test utterance of a run: ``keys``, ``by``, and the columns :func:`ua_gain` reads.

    Returns:
        Columns ``keys`` and :data:`GAIN_COLUMNS`, sorted by ``keys``; no row for a group run one way only.
    """
    out = []
    for key, group in rows.groupby(keys, sort=True):
        ways = dict(tuple(group.groupby(by)))
        if emobox in ways and speaker_folds in ways:
            out.append(dict(zip(keys, key)) | ua_gain(ways[emobox], ways[speaker_folds]))
    return pd.DataFrame(out, columns=[*keys, *GAIN_COLUMNS])


def overlap_markdown(table: pd.DataFrame, keys: list[str], title: str) -> str:
    """A table of :func:`ua_gain` rows as a Markdown section: ``keys`` first, UA in %, the gain in points with both
    intervals; ``""`` when ``table`` is empty."""
    if table.empty:
        return ""
    lines = [
        f"## {title}",
        "",
        "EmoBox's published folds (Ma et al. 2024) share speakers between training and test on EmoDB and TESS; "
        "speaker folds never do. Same seeds and settings; UA pooled per class over folds and seeds; 95 % intervals "
        "over seeds (t) and over seeds × test speakers (bootstrap).",
        "",
        "| "
        + " | ".join(keys)
        + " | UA EmoBox % | UA speaker folds % | Δ UA (pp) | 95 % seeds | 95 % seeds × speakers "
        "| seeds |",
        "| " + " | ".join("---" for _ in keys) + " | ---: | ---: | ---: | --- | --- | ---: |",
    ]
    for r in table.to_dict("records"):
        seeds = f"[{100 * r['overlap_gain_ci95_seeds_low']:+.1f}, {100 * r['overlap_gain_ci95_seeds_high']:+.1f}]"
        both = (
            f"[{100 * r['overlap_gain_ci95_seeds_speakers_low']:+.1f}, "
            f"{100 * r['overlap_gain_ci95_seeds_speakers_high']:+.1f}]"
        )
        lines.append(
            "| "
            + " | ".join(str(r[k]) for k in keys)
            + f" | {100 * r['ua_emobox']:.1f} | {100 * r['ua_speaker_folds']:.1f} | {100 * r['overlap_gain']:+.1f}"
            f" | {seeds} | {both} | {r['n_seeds']} |"
        )
    return "\n".join(lines) + "\n\n"
