"""Fold tables: which utterances train, validate and test in every fold and seed of an experiment.

A fold table has the columns ``seed, fold, corpus, utterance_id, subset``
(subset ``train``, ``validation``, ``test``, and for the quantization study
``search``), every seed of an experiment in one CSV, built from the protocols
of :mod:`serbench.protocols`. Model selection and early stopping read
``validation``, the bit search ``search``; ``test`` is scored once, at the end.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from serbench.atomic import write_csv
from serbench.corpora import read_manifest
from serbench.errors import InputError

log = logging.getLogger(__name__)

SUBSETS: tuple[str, ...] = ("train", "validation", "test")  # every fold has them; "search" is optional
FOLD_COLUMNS: tuple[str, ...] = ("seed", "fold", "corpus", "utterance_id", "subset")


def read_folds(path: str | Path, seed: int | None = None) -> pd.DataFrame:
    """Read a fold table, ids and folds as strings; only ``seed``'s rows when given.

    Raises:
        ValueError: a column of :data:`FOLD_COLUMNS` is missing, or no row has ``seed``.
    """
    folds = pd.read_csv(path, dtype={"fold": str, "corpus": str, "utterance_id": str, "subset": str, "emotion": str})
    missing = set(FOLD_COLUMNS) - set(folds.columns)
    if missing:
        raise InputError(f"{path}: not a fold table, missing columns {sorted(missing)}")
    if seed is not None:
        folds = folds[folds["seed"] == seed]
        if folds.empty:
            raise InputError(f"{path}: no folds for seed {seed}")
    return folds


def fold_classes(folds: pd.DataFrame, manifest: pd.DataFrame | None = None) -> list[str]:
    """The classes of a fold table, sorted: its ``emotion`` column, else its utterances' manifest emotions.

    >>> fold_classes(pd.DataFrame({"utterance_id": ["a", "b"], "emotion": ["sad", "angry"]}))
    ['angry', 'sad']

    Raises:
        ValueError: the table has no ``emotion`` column and no manifest is given.
    """
    if "emotion" in folds:
        return sorted(folds["emotion"].unique())
    if manifest is None:
        raise InputError("the fold table names no emotions: give its manifest")
    emotion = dict(zip(manifest["utterance_id"].astype(str), manifest["emotion"]))
    return sorted({emotion[u] for u in folds["utterance_id"]})


def make_folds(protocol: str, manifests: dict[str, pd.DataFrame], seed: int, **settings) -> pd.DataFrame:
    """Fold table of one protocol and seed.

    Args:
        protocol: ``random``, ``speaker_independent``, ``fixed_speakers``, ``emobox`` or ``cross_corpus``.
        manifests: corpus name -> manifest; for ``cross_corpus`` the last one is
            the test corpus, the others train.
        seed: seed of the split.
        settings: the protocol's keyword arguments (fractions, ``n_folds``,
            validation speakers, ``speakers`` lists).

    Raises:
        ValueError: an unknown protocol, or several corpora given to a single-corpus protocol.
    """
    # the protocols draw with scikit-learn, whose import (1.1 of a cell job's 3.0 CPU-s of imports) no reader of a fold
    # table pays
    from serbench.emobox import emobox_split
    from serbench.protocols import cross_corpus_split, fixed_speaker_split, random_split, speaker_independent_split

    names = list(manifests)
    if protocol == "cross_corpus":
        return cross_corpus_split(manifests, names[:-1], names[-1], seed, **settings)
    if len(names) != 1:
        raise InputError(f"protocol {protocol!r} takes one corpus, got {names}")
    manifest, corpus = manifests[names[0]], names[0]
    if protocol == "random":
        return random_split(manifest, corpus, seed, **settings)
    if protocol == "speaker_independent":
        return speaker_independent_split(manifest, corpus, seed=seed, **settings)
    if protocol == "fixed_speakers":
        return fixed_speaker_split(manifest, corpus, **settings)
    if protocol == "emobox":
        return emobox_split(manifest, corpus, seed, **settings)
    raise ValueError(
        f"unknown protocol {protocol!r}; expected random, speaker_independent, fixed_speakers, emobox or cross_corpus"
    )


def seeded_folds(make: Callable[[int], pd.DataFrame], seeds: list[int]) -> pd.DataFrame:
    """The fold tables ``make(seed)`` of every seed in one table, with a leading ``seed`` column.

    >>> table = seeded_folds(lambda s: pd.DataFrame({"fold": ["0"], "utterance_id": [f"u{s}"]}), [3, 4])
    >>> table.values.tolist()
    [[3, '0', 'u3'], [4, '0', 'u4']]
    """
    return pd.concat([make(seed).assign(seed=seed) for seed in seeds], ignore_index=True).pipe(
        lambda t: t[["seed", *[c for c in t.columns if c != "seed"]]]
    )


def hold_out_search(
    folds: pd.DataFrame, emotion: dict[tuple[str, str], str], fraction: float, seed: int
) -> pd.DataFrame:
    """Move a stratified ``fraction`` of each fold's validation utterances to a ``search`` subset.

    The quantization study's bit search then scores utterances that did not
    choose the early-stopping epoch. Per fold and emotion, ``round(fraction · n)``
    of the ``n`` validation utterances, drawn with ``seed``, move.

    Args:
        folds: fold table of one seed.
        emotion: ``(corpus, utterance_id)`` -> emotion.
    """
    rng = np.random.default_rng(seed)
    folds = folds.copy()
    validation = folds[folds["subset"] == "validation"]
    classes = [emotion[key] for key in zip(validation["corpus"], validation["utterance_id"])]
    for _, rows in validation.groupby([validation["fold"], pd.Series(classes, index=validation.index)]):
        moved = rng.permutation(rows.index.to_numpy())[: int(round(fraction * len(rows)))]
        folds.loc[moved, "subset"] = "search"
    return folds


def write_folds(
    protocol: str, manifests: dict[str, str], seeds: list[int], settings: dict, out: str, search_fraction: float = 0.0
) -> None:
    """Fold tables of one protocol for every seed in one CSV (see :func:`make_folds`).

    ``manifests`` maps corpus names to manifest paths; for ``cross_corpus`` the
    last one is the test corpus. ``settings`` may hold ``exclude_emotions``,
    emotions left out before splitting (logged), besides the protocol's own
    arguments. A ``search_fraction`` above 0 sets part of every validation
    subset aside for the bit search (:func:`hold_out_search`).
    """
    settings = dict(settings)
    excluded = set(settings.pop("exclude_emotions", []))
    tables = {}
    for name, path in manifests.items():
        table = read_manifest(path)
        if excluded:
            log.info("%s: %d utterances of %s left out", name, table["emotion"].isin(excluded).sum(), sorted(excluded))
        tables[name] = table[~table["emotion"].isin(excluded)]
    emotion = {(c, u): e for c, t in tables.items() for u, e in zip(t["utterance_id"], t["emotion"])}

    def folds(seed: int) -> pd.DataFrame:
        table = make_folds(protocol, tables, seed, **settings)
        return hold_out_search(table, emotion, search_fraction, seed) if search_fraction > 0 else table

    write_csv(out, seeded_folds(folds, seeds))
