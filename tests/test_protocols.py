import pandas as pd
import pytest

from serbench.protocols import random_split


@pytest.fixture
def manifest():
    emotions = ["anger"] * 50 + ["sadness"] * 30 + ["neutral"] * 20
    return pd.DataFrame({"utterance_id": [f"u{i:03d}" for i in range(100)], "emotion": emotions})


def test_random_split_is_80_10_10_disjoint_and_stratified(manifest):
    folds = random_split(manifest, seed=0)
    assert folds["subset"].value_counts().to_dict() == {"train": 80, "validation": 10, "test": 10}
    assert folds["utterance_id"].is_unique and set(folds["utterance_id"]) == set(manifest["utterance_id"])
    labelled = folds.merge(manifest, on="utterance_id")
    test_counts = labelled[labelled.subset == "test"]["emotion"].value_counts().to_dict()
    assert test_counts == {"anger": 5, "sadness": 3, "neutral": 2}


def test_random_split_depends_on_seed_only(manifest):
    assert random_split(manifest, 3).equals(random_split(manifest, 3))
    assert not random_split(manifest, 3).equals(random_split(manifest, 4))


def test_bad_fractions_rejected(manifest):
    with pytest.raises(ValueError, match="fractions"):
        random_split(manifest, 0, 0.6, 0.5)
