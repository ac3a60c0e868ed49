"""Evaluation protocols: which utterances train, validate and test.

A protocol yields a fold table with columns ``seed, fold, corpus,
utterance_id, subset`` (subset one of ``train``, ``validation``, ``test``),
every seed of an experiment in one table. Model selection,
early stopping and the quantization bit search read ``validation`` only;
``test`` is scored once, at the end.

- ``random``: the papers' stratified random split (speakers shared).
- ``speaker_independent``: the corpus's speakers in ``n_folds`` groups, each
  group the test set of one fold (leave-one-speaker-out when ``n_folds`` equals
  the number of speakers); validation speakers drawn from the training speakers.
- ``cross_corpus``: train (and validate) on some corpora, test on another, on
  the emotions they share.
- ``production``: one model on a stratified random share of the whole corpus,
  the rest validating, no in-corpus test (Ismail's production model, scored on
  a cross-corpus test set).
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit, train_test_split

from serbench.errors import InputError
from serbench.labels import shared_emotions
from serbench.settings.names import PRODUCTION_FOLD

log = logging.getLogger(__name__)
MIN_TRAINING_GROUPS = 2  # speakers (or sessions) that must remain for training when some are held out to validate


def fold_rows(fold: str, corpus: pd.Series | str, parts: dict[str, np.ndarray]) -> pd.DataFrame:
    """One fold's rows of a fold table (``fold, corpus, utterance_id, subset``) from ``{subset: ids}``; ``corpus``
    a name, or a Series mapping each id to its corpus."""
    frames = [pd.DataFrame({"utterance_id": ids, "subset": subset}) for subset, ids in parts.items()]
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "corpus", corpus if isinstance(corpus, str) else table["utterance_id"].map(corpus))
    table.insert(0, "fold", fold)
    return table


def check_fractions(validation_fraction: float, test_fraction: float = 0.0) -> None:
    if not (0 < validation_fraction < 1 and 0 <= test_fraction < 1 and validation_fraction + test_fraction < 1):
        raise InputError(f"split fractions {validation_fraction}, {test_fraction} must lie in (0, 1) and sum below 1")


def _check_class_sizes(labels: np.ndarray, corpus: str, protocol: str, needed: int, subsets: str) -> None:
    """Raise :class:`InputError` naming the corpus's smallest emotion when it has fewer than ``needed`` utterances."""
    emotions, counts = np.unique(labels, return_counts=True)
    if len(counts) and counts.min() < needed:
        emotion, count = emotions[counts.argmin()], counts.min()
        raise InputError(
            f"{corpus}: emotion {emotion!r} has {count} utterance(s); the {protocol} split needs at least {needed} "
            f"per emotion ({subsets})"
        )


def random_split(
    manifest: pd.DataFrame,
    corpus: str,
    seed: int,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
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
        InputError: fractions outside (0, 1) or summing to 1 or more, or an emotion with fewer than 3 utterances
            (one each for train, validation and test).
    """
    check_fractions(validation_fraction, test_fraction)
    ids, labels = manifest["utterance_id"].to_numpy(), manifest["emotion"].to_numpy()
    _check_class_sizes(labels, corpus, "stratified random", 3, "one each for train, validation and test")
    rest_ids, test_ids, rest_labels, _ = train_test_split(
        ids, labels, test_size=test_fraction, stratify=labels, random_state=seed
    )
    train_ids, val_ids = train_test_split(
        rest_ids, test_size=validation_fraction / (1 - test_fraction), stratify=rest_labels, random_state=seed
    )
    return fold_rows("0", corpus, {"train": train_ids, "validation": val_ids, "test": test_ids})


def production_split(manifest: pd.DataFrame, corpus: str, seed: int, validation_fraction: float = 0.05) -> pd.DataFrame:
    """Ismail's production model: every utterance of the corpus trains except a stratified random validation share.

    The paper trains one model on a 95/5 random split of the whole study corpus
    and reports its cross-corpus (RAVDESS) score; the 5 % picks the epoch, so the
    corpus has no test subset here.

    Returns:
        Fold table with one fold, ``"production"``, subsets ``train`` and ``validation``.

    Raises:
        InputError: ``validation_fraction`` outside (0, 1), or an emotion with fewer than 2 utterances.
    """
    check_fractions(validation_fraction)
    ids, labels = manifest["utterance_id"].to_numpy(), manifest["emotion"].to_numpy()
    _check_class_sizes(labels, corpus, "production", 2, "one each for train and validation")
    train_ids, val_ids = train_test_split(ids, test_size=validation_fraction, stratify=labels, random_state=seed)
    return fold_rows(PRODUCTION_FOLD, corpus, {"train": train_ids, "validation": val_ids})


def hold_out_validation(
    rows: pd.DataFrame,
    seed: int,
    validation_speakers: int = 1,
    validation_fraction: float = 0.1,
    group_column: str = "speaker",
) -> tuple[np.ndarray, np.ndarray]:
    """Split training rows into train and validation utterance ids.

    When holding out ``validation_speakers`` groups (``rows[group_column]``,
    speakers or sessions, told apart by ``corpus`` too when present) leaves at
    least :data:`MIN_TRAINING_GROUPS` to train on, whole groups are held out.
    Otherwise (TESS has two speakers: in a speaker fold one tests and one
    remains; trained on for a cross-corpus test, holding one out would leave
    half the corpus unused) validation is a stratified ``validation_fraction``
    of the utterances, and a warning says so.

    Returns:
        ``(train_ids, validation_ids)``.
    """
    groups = (rows["corpus"] + "/" if "corpus" in rows else "") + rows[group_column].astype(str)
    if groups.nunique() >= validation_speakers + MIN_TRAINING_GROUPS:
        splitter = GroupShuffleSplit(n_splits=1, test_size=validation_speakers, random_state=seed)
        train_index, val_index = next(splitter.split(rows, groups=groups))
        return rows["utterance_id"].to_numpy()[train_index], rows["utterance_id"].to_numpy()[val_index]
    check_fractions(validation_fraction)
    log.warning(
        "%d training speaker(s): validation is a stratified %.0f %% of their utterances, not a held-out speaker",
        groups.nunique(),
        100 * validation_fraction,
    )
    stratify = rows["emotion"] if stratifiable(rows["emotion"], validation_fraction) else None
    train_ids, val_ids = train_test_split(
        rows["utterance_id"].to_numpy(), test_size=validation_fraction, stratify=stratify, random_state=seed
    )
    return train_ids, val_ids


def stratifiable(emotions: pd.Series, fraction: float) -> bool:
    """Whether a stratified ``fraction`` of these utterances (and the rest) can hold every emotion; where not (few
    utterances, as a partial copy of a corpus), a share is drawn plainly at random instead.

    >>> emotions = pd.Series(["anger", "sadness"] * 12)
    >>> stratifiable(emotions, 0.1), stratifiable(emotions[:4], 0.1)
    (True, False)
    """
    counts, share = emotions.value_counts(), math.ceil(fraction * len(emotions))
    return counts.min() >= 2 and share >= len(counts) and len(emotions) - share >= len(counts)


def speaker_folds(speakers: list[str], n_folds: int) -> list[list[str]]:
    """Sorted speakers in ``n_folds`` contiguous groups, sizes differing by at most one.

    >>> speaker_folds(["03", "08", "09", "10", "11"], 2)
    [['03', '08', '09'], ['10', '11']]

    Raises:
        ValueError: fewer speakers than folds.
    """
    ordered = sorted(set(speakers))
    if len(ordered) < n_folds:
        raise InputError(
            f"{n_folds} speaker folds need at least {n_folds} speakers; the corpus has {len(ordered)}: {ordered}"
        )
    return [list(group) for group in np.array_split(np.array(ordered, dtype=object), n_folds)]


def speaker_independent_split(
    manifest: pd.DataFrame,
    corpus: str,
    n_folds: int,
    seed: int,
    validation_speakers: int = 1,
    validation_fraction: float = 0.1,
    group_column: str = "speaker",
) -> pd.DataFrame:
    """Speaker-independent folds: each group of speakers (or sessions) tests once, trained on the others.

    EmoDB with ``n_folds = 10`` is leave-one-speaker-out; RAVDESS with 6 folds
    tests 4 actors a fold; IEMOCAP with ``group_column = "session"`` and 5 folds
    is leave-one-session-out. Validation groups come from the training groups
    (see :func:`hold_out_validation` for two-speaker corpora).

    Returns:
        Fold table with folds ``"0"`` .. ``str(n_folds - 1)``.
    """
    tables = []
    groups = manifest[group_column].astype(str)
    for fold, test_groups in enumerate(speaker_folds(groups.tolist(), n_folds)):
        is_test = groups.isin(test_groups)
        train_ids, val_ids = hold_out_validation(
            manifest[~is_test], seed + fold, validation_speakers, validation_fraction, group_column
        )
        test_ids = manifest.loc[is_test, "utterance_id"].to_numpy()
        tables.append(fold_rows(str(fold), corpus, {"train": train_ids, "validation": val_ids, "test": test_ids}))
    return pd.concat(tables, ignore_index=True)


def fixed_speaker_split(manifest: pd.DataFrame, corpus: str, speakers: dict[str, list[str]]) -> pd.DataFrame:
    """One fold from given speaker lists per subset (a corpus's published train/development/test speakers).

    DEMoS studies (Ren et al. 2023, following Ren et al. 2020) use fixed
    speaker-independent train/development/test sets; the lists come from
    config. Speakers of the manifest in no list are left out and reported in
    the log.

    Args:
        manifest: one corpus's manifest.
        corpus: its name.
        speakers: ``{"train": [...], "validation": [...], "test": [...]}`` speaker ids as in the manifest.

    Returns:
        Fold table with one fold, ``"0"``.

    Raises:
        ValueError: a subset missing or without utterances, a speaker listed twice, or a listed speaker
            absent from the manifest (each message names the speakers).
    """
    missing = [s for s in ("train", "validation", "test") if s not in speakers]
    if missing:
        raise InputError(f"{corpus}: fixed speaker lists lack {missing}")
    listed = [str(s) for subset in ("train", "validation", "test") for s in speakers[subset]]
    twice = sorted({s for s in listed if listed.count(s) > 1})
    if twice:
        raise InputError(f"{corpus}: speakers in more than one subset or listed twice: {twice}")
    present = set(manifest["speaker"].astype(str))
    unknown = sorted(set(listed) - present)
    if unknown:
        raise InputError(f"{corpus}: listed speakers not in the manifest: {unknown}")
    unlisted = sorted(present - set(listed))
    if unlisted:
        log.warning("%s: %d speakers in no subset are left out: %s", corpus, len(unlisted), unlisted)
    parts = {}
    for subset in ("train", "validation", "test"):
        rows = manifest[manifest["speaker"].astype(str).isin([str(s) for s in speakers[subset]])]
        if rows.empty:
            raise InputError(f"{corpus}: no utterances for the {subset} speakers")
        parts[subset] = rows["utterance_id"].to_numpy()
    return fold_rows("0", corpus, parts)


def cross_corpus_split(
    manifests: dict[str, pd.DataFrame],
    train_corpora: list[str],
    test_corpus: str,
    seed: int,
    validation_speakers: int = 1,
    validation_fraction: float = 0.1,
) -> pd.DataFrame:
    """Train on ``train_corpora``, test on all of ``test_corpus``, on their shared emotions.

    Returns:
        Fold table with one fold, ``"0"``; utterances of other emotions are left out.

    Raises:
        ValueError: the test corpus is also a training corpus, or no emotion is shared.
    """
    if test_corpus in train_corpora:
        raise InputError(f"cross-corpus test corpus {test_corpus!r} is also a training corpus")
    emotions = shared_emotions([set(manifests[c]["emotion"]) for c in [*train_corpora, test_corpus]])
    train_rows = pd.concat([manifests[c].assign(corpus=c) for c in train_corpora], ignore_index=True)
    train_rows = train_rows[train_rows["emotion"].isin(emotions)]
    train_ids, val_ids = hold_out_validation(train_rows, seed, validation_speakers, validation_fraction)
    test = manifests[test_corpus]
    test_ids = test.loc[test["emotion"].isin(emotions), "utterance_id"].to_numpy()
    corpus_of = dict(zip(train_rows["utterance_id"], train_rows["corpus"])) | dict.fromkeys(test_ids, test_corpus)
    return fold_rows("0", pd.Series(corpus_of), {"train": train_ids, "validation": val_ids, "test": test_ids})
