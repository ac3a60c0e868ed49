"""The quantization study's speaker-overlap table: per dataset, feature set and family, the float32 model's UA on
EmoBox's folds minus its UA on speaker folds (:mod:`serbench.overlap`), from the quantize step's records."""

from __future__ import annotations

import pandas as pd

from serbench.overlap import GAIN_COLUMNS, gain_table

ROW = ["dataset", "features", "model"]
COLUMNS = [*ROW, *GAIN_COLUMNS]


def speaker_overlap(units: pd.DataFrame, emotion: dict[tuple[str, str], str]) -> pd.DataFrame:
    """One row per dataset × features × model run under both ``emobox`` and ``speaker_independent`` (none without).

    Args:
        units: :func:`~serbench.studies.quantization.pooling.utterance_results` of the quantize records.
        emotion: ``(dataset, utterance_id)`` -> emotion (the corpora's manifests).

    Returns:
        :data:`COLUMNS`.
    """
    fp32 = units[(units["variant"] == "fp32") & units["protocol"].isin(["emobox", "speaker_independent"])]
    fp32 = fp32.assign(emotion=[emotion[key] for key in zip(fp32["dataset"], fp32["utterance"])])
    return gain_table(fp32, ROW, "protocol", "emobox", "speaker_independent")
