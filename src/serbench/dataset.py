"""Joining a feature table, a fold table and a manifest into arrays per subset."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from serbench.corpora import read_manifest
from serbench.features import load_features
from serbench.protocols import SUBSETS


@dataclass(frozen=True)
class SplitData:
    """Arrays of one fold.

    Attributes:
        classes: emotion names; a label is an index into this list.
        subsets: subset name -> ``(features (N, ...), labels (N,), utterance_ids (N,))``.
    """

    classes: list[str]
    subsets: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]

    def xy(self, subset: str) -> tuple[np.ndarray, np.ndarray]:
        """``(features, labels)`` of one subset."""
        features, labels, _ = self.subsets[subset]
        return features, labels


def load_split_data(features_path: str | Path, split_path: str | Path, manifest_path: str | Path, fold: str) -> SplitData:
    """Arrays of ``fold`` of a fold table, labels from the manifest.

    Classes are the manifest's emotions, sorted, so every fold and seed of a
    corpus shares one label index.

    Raises:
        ValueError: the fold table names utterances without features, or the
            fold has an empty subset.
    """
    manifest = read_manifest(manifest_path).set_index("utterance_id")
    classes = sorted(manifest["emotion"].unique())
    ids, features = load_features(features_path)
    row_of = {utterance_id: i for i, utterance_id in enumerate(ids)}
    folds = pd.read_csv(split_path, dtype={"fold": str, "utterance_id": str})
    folds = folds[folds["fold"] == str(fold)]
    missing = set(folds["utterance_id"]) - set(row_of)
    if missing:
        raise ValueError(f"{split_path}: {len(missing)} utterances have no features in {features_path}, e.g. {sorted(missing)[:3]}")
    subsets = {}
    for subset in SUBSETS:
        chosen = folds.loc[folds["subset"] == subset, "utterance_id"].to_numpy()
        if len(chosen) == 0:
            raise ValueError(f"{split_path}: fold {fold} has no {subset} utterances")
        labels = np.array([classes.index(e) for e in manifest.loc[chosen, "emotion"]])
        subsets[subset] = (features[[row_of[u] for u in chosen]], labels, chosen)
    return SplitData(classes, subsets)
