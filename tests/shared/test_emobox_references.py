"""EmoBox's upstreams as reference marks: parameter counts from their architectures, checked against a real
encoder's own weights."""

import os
from pathlib import Path

import pytest

from serbench.emobox.references import ARCHITECTURES, encoder_parameters, reference_rows, upstream_parameters
from serbench.errors import UnknownNameError
from serbench.literature import emobox2024_table4

HF_CACHE = Path(os.environ.get("HF_HUB_CACHE", "/nonexistent"))


def test_every_upstream_of_emobox_table_has_an_architecture_and_sizes_rank_as_their_names_say():
    assert set(emobox2024_table4()["upstream"]) == set(ARCHITECTURES)
    base, large = upstream_parameters("WavLM base"), upstream_parameters("WavLM large")
    assert 3 < large / base < 3.5  # 24 layers of 1024 against 12 of 768
    assert upstream_parameters("Whisper large v3") > 2 * large
    assert upstream_parameters("data2vec 2.0 large") == upstream_parameters("data2vec large")
    with pytest.raises(UnknownNameError, match="WavLM base plus"):
        upstream_parameters("WavLM base plus")


@pytest.mark.skipif(not (HF_CACHE / "models--openai--whisper-tiny.en").is_dir(), reason="needs whisper-tiny.en")
def test_the_meta_count_equals_a_real_encoder_s_weights(monkeypatch):
    """The counting method, on the one pretrained encoder here: whisper-tiny.en's encoder built from its own
    config.json on the meta device has exactly as many parameters as its loaded weights."""
    from transformers import WhisperConfig, WhisperModel

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    config = WhisperConfig.from_pretrained("openai/whisper-tiny.en").to_diff_dict()
    real = WhisperModel.from_pretrained("openai/whisper-tiny.en").encoder
    assert encoder_parameters("Whisper", config) == sum(p.numel() for p in real.parameters())


def test_reference_rows_keep_the_corpora_asked_for_with_emobox_class_counts():
    rows = reference_rows(["ravdess", "iemocap"])
    assert set(rows["task"]) == {"ravdess, EmoBox folds, 8 classes"} and len(rows) == 10
    assert reference_rows([]).empty
