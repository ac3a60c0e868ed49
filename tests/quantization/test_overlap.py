"""Speaker overlap: UA on EmoBox's folds minus UA on speaker folds, from the quantize records."""

import numpy as np
import pytest

from serbench.overlap import overlap_markdown
from serbench.studies.quantization.overlap import ROW, speaker_overlap
from serbench.studies.quantization.pooling import utterance_results

EMOTIONS = ["anger", "sadness"]


def record(protocol, seed, hits, variant="fp32", model="mlp"):
    """Utterance i (emotion EMOTIONS[i % 2], speaker i % 4) right where ``hits[i]``."""
    return dict(
        dataset="emodb",
        features="egemaps",
        protocol=protocol,
        model=model,
        quantizer="none" if variant == "fp32" else "uniform",
        variant=variant,
        seed=seed,
        test_utterances=[f"u{i}" for i in range(len(hits))],
        test_speakers=[f"s{i % 4}" for i in range(len(hits))],
        test_correct="".join("1" if h else "0" for h in hits),
    )


EMOTION = {("emodb", f"u{i}"): EMOTIONS[i % 2] for i in range(40)}


def test_the_gain_is_the_difference_of_pooled_per_class_recalls_with_intervals_around_it():
    # emobox: all anger (even i) right, sadness of speaker s1 only; speaker folds: anger of speaker s0 only
    emobox = [i % 2 == 0 or i % 4 == 1 for i in range(40)]
    speaker = [i % 4 == 0 for i in range(40)]
    records = [record("emobox", s, emobox) for s in (0, 1, 2)] + [
        record("speaker_independent", s, speaker) for s in (0, 1, 2)
    ]
    records.append(record("emobox", 0, [False] * 40, variant="fixed2"))  # quantized rows do not count
    table = speaker_overlap(utterance_results(records), EMOTION)
    row = table.iloc[0]
    assert (row["ua_emobox"], row["ua_speaker_folds"]) == (pytest.approx(0.75), pytest.approx(0.25))
    assert row["overlap_gain"] == pytest.approx(0.5) and row["n_seeds"] == 3
    assert row["overlap_gain_ci95_seeds_speakers_low"] < 0.5 < row["overlap_gain_ci95_seeds_speakers_high"]
    assert np.isnan(row["overlap_gain_ci95_seeds_low"]) or row["overlap_gain_ci95_seeds_low"] == pytest.approx(0.5)
    assert "| emodb | egemaps | mlp | 75.0 | 25.0 | +50.0 |" in overlap_markdown(table, ROW, "t")


def test_a_family_run_under_one_protocol_only_gets_no_row_and_only_shared_seeds_count():
    records = [record("emobox", 0, [True] * 40), record("speaker_independent", 0, [False] * 40)]
    records += [record("emobox", 1, [False] * 40)]  # seed 1 has no speaker-fold run
    records += [record("emobox", 0, [True] * 40, model="lstm")]
    table = speaker_overlap(utterance_results(records), EMOTION)
    assert table["model"].tolist() == ["mlp"]
    assert table.loc[0, "overlap_gain"] == pytest.approx(1.0) and table.loc[0, "n_seeds"] == 1
    assert overlap_markdown(table.iloc[0:0], ROW, "t") == ""


def test_rows_come_sorted_whatever_order_the_records_come_in():
    runs = [
        record(protocol, 0, [True] * 40, model=model) | {"features": features}
        for features in ("mfcc_chroma_mel", "egemaps")
        for model in ("mlp", "cnn1d")
        for protocol in ("emobox", "speaker_independent")
    ]
    table = speaker_overlap(utterance_results(runs), EMOTION)
    assert list(zip(table["features"], table["model"])) == [
        ("egemaps", "cnn1d"),
        ("egemaps", "mlp"),
        ("mfcc_chroma_mel", "cnn1d"),
        ("mfcc_chroma_mel", "mlp"),
    ]
