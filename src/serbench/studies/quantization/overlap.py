"""How much of a number on EmoBox's folds is speaker overlap: the same model scored on EmoBox's published folds and
on the suite's speaker folds.

EmoBox's EmoDB folds test utterances of every speaker they train on; the suite's speaker folds never do. Per
dataset, feature set and model family, both protocols train the float32 model with the same seeds and settings, so
``UA(emobox) - UA(speaker_independent)`` is what sharing speakers between training and test adds to UA (on EmoDB both
protocols test every utterance once per seed; on TESS EmoBox tests 700 of them). UA pools each protocol's test
utterances over folds and seeds per class; the interval is a seeds × test-speakers bootstrap
(:func:`serbench.intervals.recall_difference_interval`) and a Student's t over the per-seed differences.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from serbench.intervals import recall_difference_interval, seeds_t_interval

OVERLAP = "emobox"
INDEPENDENT = "speaker_independent"
ROW = ["dataset", "features", "model"]
COLUMNS = [
    *ROW,
    "ua_emobox",
    "ua_speaker_independent",
    "overlap_gain",
    "overlap_gain_ci95_seeds_low",
    "overlap_gain_ci95_seeds_high",
    "overlap_gain_ci95_seeds_speakers_low",
    "overlap_gain_ci95_seeds_speakers_high",
    "n_seeds",
    "n_test_emobox",
    "n_test_speaker_independent",
]


def _counts(rows: pd.DataFrame, seeds: pd.Index, speakers: pd.Index, classes: pd.Index) -> tuple[np.ndarray, ...]:
    """``(correct, tested)``, each ``(seeds, speakers, classes)``."""
    grouped = rows.groupby(["seed", "speaker", "emotion"])["correct"].agg(["sum", "size"])
    shape = pd.MultiIndex.from_product([seeds, speakers, classes])
    grouped = grouped.reindex(shape, fill_value=0)
    return tuple(grouped[c].to_numpy(float).reshape(len(seeds), len(speakers), len(classes)) for c in ("sum", "size"))


def _ua(correct: np.ndarray, tested: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nanmean(correct.sum(axis) / tested.sum(axis), axis=-1)


def speaker_overlap(units: pd.DataFrame, emotion: dict[tuple[str, str], str]) -> pd.DataFrame:
    """UA on EmoBox's folds minus UA on speaker folds per dataset, feature set and family (float32 models).

    Args:
        units: :func:`~serbench.studies.quantization.pooling.utterance_results` of the quantize records.
        emotion: ``(dataset, utterance_id)`` -> emotion (the corpora's manifests).

    Returns:
        :data:`COLUMNS`, one row per dataset × features × model run under both protocols (none without such);
        UA as fractions; only seeds run under both protocols count.
    """
    fp32 = units[(units["variant"] == "fp32") & units["protocol"].isin([OVERLAP, INDEPENDENT])]
    fp32 = fp32.assign(emotion=[emotion[key] for key in zip(fp32["dataset"], fp32["utterance"])])
    rows = []
    for key, cell in fp32.groupby(ROW, sort=True):
        by_protocol = dict(tuple(cell.groupby("protocol")))
        if set(by_protocol) != {OVERLAP, INDEPENDENT}:
            continue
        seeds = pd.Index(sorted(set(by_protocol[OVERLAP]["seed"]) & set(by_protocol[INDEPENDENT]["seed"])))
        speakers, classes = pd.Index(sorted(cell["speaker"].unique())), pd.Index(sorted(cell["emotion"].unique()))
        a, b = (
            _counts(by_protocol[p][by_protocol[p]["seed"].isin(seeds)], seeds, speakers, classes)
            for p in (OVERLAP, INDEPENDENT)
        )
        ua_a, ua_b = _ua(*a, (0, 1)), _ua(*b, (0, 1))
        t_low, t_high = seeds_t_interval(_ua(*a, (1,)) - _ua(*b, (1,)))
        low, high = recall_difference_interval(a, b)
        rows.append(
            dict(zip(ROW, key))
            | {"ua_emobox": ua_a, "ua_speaker_independent": ua_b, "overlap_gain": ua_a - ua_b}
            | {"overlap_gain_ci95_seeds_low": t_low, "overlap_gain_ci95_seeds_high": t_high}
            | {"overlap_gain_ci95_seeds_speakers_low": low, "overlap_gain_ci95_seeds_speakers_high": high}
            | {"n_seeds": len(seeds)}
            | {f"n_test_{p}": by_protocol[p]["utterance"].nunique() for p in (OVERLAP, INDEPENDENT)}
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def overlap_markdown(table: pd.DataFrame) -> str:
    """The table as a Markdown section (UA in %, the difference with both intervals); ``""`` when it is empty."""
    if table.empty:
        return ""
    lines = [
        "## Speaker overlap: UA on EmoBox's folds minus UA on speaker folds (float32 models)",
        "",
        "EmoBox's published folds (Ma et al. 2024) share speakers between training and test on EmoDB; the speaker "
        "folds never do. Same seeds and settings; UA pooled per class over folds and seeds; 95 % intervals over "
        "seeds (t) and over seeds × test speakers (bootstrap).",
        "",
        "| dataset | features | model | UA EmoBox % | UA speaker folds % | Δ UA (pp) | 95 % seeds "
        "| 95 % seeds × speakers | seeds |",
        "| --- | --- | --- | ---: | ---: | ---: | --- | --- | ---: |",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.dataset} | {r.features} | {r.model} | {100 * r.ua_emobox:.1f} | {100 * r.ua_speaker_independent:.1f}"
            f" | {100 * r.overlap_gain:+.1f} | [{100 * r.overlap_gain_ci95_seeds_low:+.1f}, "
            f"{100 * r.overlap_gain_ci95_seeds_high:+.1f}] | [{100 * r.overlap_gain_ci95_seeds_speakers_low:+.1f}, "
            f"{100 * r.overlap_gain_ci95_seeds_speakers_high:+.1f}] | {r.n_seeds} |"
        )
    return "\n".join(lines) + "\n\n"
