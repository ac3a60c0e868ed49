"""Evaluation protocols: which utterances train, validate and test.

A protocol yields a fold table with columns ``fold, utterance_id, subset``
(subset one of ``train``, ``validation``, ``test``). Model selection, early
stopping and the quantization bit search read ``validation`` only; ``test`` is
scored once, at the end.
"""

from __future__ import annotations

import pandas as pd
from sklearn.model_selection import train_test_split

SUBSETS: tuple[str, ...] = ("train", "validation", "test")


def random_split(
    manifest: pd.DataFrame,
    seed: int,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
) -> pd.DataFrame:
    """Stratified random train/validation/test split (Shinde et al. 2024, Sec. 3: 80/10/10).

    Speakers are shared between subsets, as in the paper; this is what makes
    random splits optimistic.

    Args:
        manifest: table with ``utterance_id`` and ``emotion`` columns.
        seed: seed of the shuffle.
        validation_fraction: share of all utterances for validation.
        test_fraction: share of all utterances for test.

    Returns:
        Fold table (one fold, ``"0"``) sorted by utterance id.

    Raises:
        ValueError: fractions outside (0, 1) or summing to 1 or more.
    """
    if not (0 < validation_fraction < 1 and 0 < test_fraction < 1 and validation_fraction + test_fraction < 1):
        raise ValueError(f"split fractions {validation_fraction}, {test_fraction} must lie in (0, 1) and sum below 1")
    ids, labels = manifest["utterance_id"].to_numpy(), manifest["emotion"].to_numpy()
    rest_ids, test_ids, rest_labels, _ = train_test_split(
        ids, labels, test_size=test_fraction, stratify=labels, random_state=seed
    )
    train_ids, val_ids = train_test_split(
        rest_ids,
        test_size=validation_fraction / (1 - test_fraction),
        stratify=rest_labels,
        random_state=seed,
    )
    table = pd.concat(
        [
            pd.DataFrame({"utterance_id": train_ids, "subset": "train"}),
            pd.DataFrame({"utterance_id": val_ids, "subset": "validation"}),
            pd.DataFrame({"utterance_id": test_ids, "subset": "test"}),
        ]
    )
    table.insert(0, "fold", "0")
    return table.sort_values("utterance_id", ignore_index=True)
