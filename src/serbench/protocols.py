"""Evaluation protocols: which utterances train, validate and test.

A protocol yields a fold table with columns ``fold, corpus, utterance_id,
subset`` (subset one of ``train``, ``validation``, ``test``). Model selection,
early stopping and the quantization bit search read ``validation`` only;
``test`` is scored once, at the end.

- ``random``: the papers' stratified random split (speakers shared).
- ``speaker_independent``: the corpus's speakers in ``n_folds`` groups, each
  group the test set of one fold (leave-one-speaker-out when ``n_folds`` equals
  the number of speakers); validation speakers drawn from the training speakers.
- ``cross_corpus``: train (and validate) on some corpora, test on another, on
  the emotions they share.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit, train_test_split

from serbench.labels import shared_emotions

log = logging.getLogger(__name__)

SUBSETS: tuple[str, ...] = ("train", "validation", "test")
FOLD_COLUMNS: tuple[str, ...] = ("fold", "corpus", "utterance_id", "subset")


def _table(fold: str, corpus: pd.Series | str, parts: dict[str, np.ndarray]) -> pd.DataFrame:
    frames = [pd.DataFrame({"utterance_id": ids, "subset": subset}) for subset, ids in parts.items()]
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "corpus", corpus if isinstance(corpus, str) else table["utterance_id"].map(corpus))
    table.insert(0, "fold", fold)
    return table


def _check_fractions(validation_fraction: float, test_fraction: float = 0.0) -> None:
    if not (0 < validation_fraction < 1 and 0 <= test_fraction < 1 and validation_fraction + test_fraction < 1):
        raise ValueError(f"split fractions {validation_fraction}, {test_fraction} must lie in (0, 1) and sum below 1")


def random_split(
    manifest: pd.DataFrame, corpus: str, seed: int, validation_fraction: float = 0.1, test_fraction: float = 0.1,
) -> pd.DataFrame:
    """Stratified random train/validation/test split (Shinde et al. 2024, Sec. 3: 80/10/10).

    Speakers are shared between subsets, as in the paper; this is what makes
    random splits optimistic.

    Args:
        manifest: table with ``utterance_id`` and ``emotion`` columns.
        corpus: corpus name written into the table.
        seed: seed of the shuffle.
        validation_fraction: share of all utterances for validation.
        test_fraction: share of all utterances for test.

    Returns:
        Fold table with one fold, ``"0"``.

    Raises:
        ValueError: fractions outside (0, 1) or summing to 1 or more.
    """
    _check_fractions(validation_fraction, test_fraction)
    ids, labels = manifest["utterance_id"].to_numpy(), manifest["emotion"].to_numpy()
    rest_ids, test_ids, rest_labels, _ = train_test_split(
        ids, labels, test_size=test_fraction, stratify=labels, random_state=seed
    )
    train_ids, val_ids = train_test_split(
        rest_ids, test_size=validation_fraction / (1 - test_fraction), stratify=rest_labels, random_state=seed
    )
    return _table("0", corpus, {"train": train_ids, "validation": val_ids, "test": test_ids})


def hold_out_validation(
    rows: pd.DataFrame, seed: int, validation_speakers: int = 1, validation_fraction: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """Split training rows into train and validation utterance ids.

    With at least ``validation_speakers + 1`` speakers, whole speakers are held
    out (``rows["speaker"]``, grouped by ``corpus`` too when present). With
    fewer (TESS has two speakers: one tests, one remains) no speaker can be
    held out; validation is then a stratified ``validation_fraction`` of the
    remaining utterances, and a warning says so.

    Returns:
        ``(train_ids, validation_ids)``.
    """
    groups = (rows["corpus"] + "/" if "corpus" in rows else "") + rows["speaker"].astype(str)
    if groups.nunique() > validation_speakers:
        splitter = GroupShuffleSplit(n_splits=1, test_size=validation_speakers, random_state=seed)
        train_index, val_index = next(splitter.split(rows, groups=groups))
        return rows["utterance_id"].to_numpy()[train_index], rows["utterance_id"].to_numpy()[val_index]
    _check_fractions(validation_fraction)
    log.warning("only %d training speaker(s): validation is a stratified %.0f %% of their utterances, not a held-out speaker",
                groups.nunique(), 100 * validation_fraction)
    train_ids, val_ids = train_test_split(
        rows["utterance_id"].to_numpy(), test_size=validation_fraction, stratify=rows["emotion"], random_state=seed
    )
    return train_ids, val_ids


def speaker_folds(speakers: list[str], n_folds: int) -> list[list[str]]:
    """Sorted speakers in ``n_folds`` contiguous groups, sizes differing by at most one.

    >>> speaker_folds(["03", "08", "09", "10", "11"], 2)
    [['03', '08', '09'], ['10', '11']]

    Raises:
        ValueError: fewer speakers than folds.
    """
    ordered = sorted(set(speakers))
    if len(ordered) < n_folds:
        raise ValueError(f"{n_folds} speaker folds need at least {n_folds} speakers; the corpus has {len(ordered)}: {ordered}")
    return [list(group) for group in np.array_split(np.array(ordered, dtype=object), n_folds)]


def speaker_independent_split(
    manifest: pd.DataFrame, corpus: str, n_folds: int, seed: int, validation_speakers: int = 1,
    validation_fraction: float = 0.1,
) -> pd.DataFrame:
    """Speaker-independent folds: each speaker group tests once, trained on the others.

    EmoDB with ``n_folds = 10`` is leave-one-speaker-out; RAVDESS with 6 folds
    tests 4 actors a fold. Validation speakers come from the training speakers
    (see :func:`hold_out_validation` for two-speaker corpora).

    Returns:
        Fold table with folds ``"0"`` .. ``str(n_folds - 1)``.
    """
    tables = []
    for fold, test_speakers in enumerate(speaker_folds(manifest["speaker"].astype(str).tolist(), n_folds)):
        is_test = manifest["speaker"].astype(str).isin(test_speakers)
        train_ids, val_ids = hold_out_validation(manifest[~is_test], seed + fold, validation_speakers, validation_fraction)
        test_ids = manifest.loc[is_test, "utterance_id"].to_numpy()
        tables.append(_table(str(fold), corpus, {"train": train_ids, "validation": val_ids, "test": test_ids}))
    return pd.concat(tables, ignore_index=True)


def cross_corpus_split(
    manifests: dict[str, pd.DataFrame], train_corpora: list[str], test_corpus: str, seed: int,
    validation_speakers: int = 1, validation_fraction: float = 0.1,
) -> pd.DataFrame:
    """Train on ``train_corpora``, test on all of ``test_corpus``, on their shared emotions.

    Returns:
        Fold table with one fold, ``"0"``; utterances of other emotions are left out.

    Raises:
        ValueError: the test corpus is also a training corpus, or no emotion is shared.
    """
    if test_corpus in train_corpora:
        raise ValueError(f"cross-corpus test corpus {test_corpus!r} is also a training corpus")
    emotions = shared_emotions([set(manifests[c]["emotion"]) for c in [*train_corpora, test_corpus]])
    train_rows = pd.concat([manifests[c].assign(corpus=c) for c in train_corpora], ignore_index=True)
    train_rows = train_rows[train_rows["emotion"].isin(emotions)]
    train_ids, val_ids = hold_out_validation(train_rows, seed, validation_speakers, validation_fraction)
    test = manifests[test_corpus]
    test_ids = test.loc[test["emotion"].isin(emotions), "utterance_id"].to_numpy()
    corpus_of = dict(zip(train_rows["utterance_id"], train_rows["corpus"])) | dict.fromkeys(test_ids, test_corpus)
    return _table("0", pd.Series(corpus_of), {"train": train_ids, "validation": val_ids, "test": test_ids})


def read_folds(path: str | Path) -> pd.DataFrame:
    """Read a fold table, ids and folds as strings.

    Raises:
        ValueError: a column of :data:`FOLD_COLUMNS` is missing.
    """
    folds = pd.read_csv(path, dtype={"fold": str, "corpus": str, "utterance_id": str, "subset": str})
    missing = set(FOLD_COLUMNS) - set(folds.columns)
    if missing:
        raise ValueError(f"{path}: not a fold table, missing columns {sorted(missing)}")
    return folds
