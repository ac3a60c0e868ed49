"""EmoBox's published folds (Ma et al., Interspeech 2024) as a protocol beside the suite's speaker folds.

EmoBox, the field's multi-corpus SER benchmark, publishes a train/test partition per fold and corpus and reports
ten self-supervised upstreams on them. Its folds are not all speaker-independent (every EmoDB test fold holds
utterances of all ten speakers), so the same model scored on them and on the suite's speaker folds measures how much
of a published number is speaker overlap.

The membership ships with the package (``folds.csv``: ``corpus, utterance_id, emotion, test_fold``), rebuilt by
:mod:`serbench.emobox.build` from EmoBox commit 08280f2 (``data/<corpus>/fold_<k>/<corpus>_{train,test}_fold_<k>
.jsonl``): EmoDB 5 folds of 107 test utterances, RAVDESS 6 of 240, SAVEE 4 of 120, TESS 1 fold of 700 (its other 2,100
utterances only train). EmoBox has no validation subset; here a stratified random share of each fold's training
utterances validates (EmoBox's EmoDB and TESS folds share speakers, so a held-out speaker would not be its
protocol). Fold ``i`` of a fold table is EmoBox's ``fold_{i+1}``.
"""

from __future__ import annotations

import functools
import logging
from importlib.resources import files

import pandas as pd
from sklearn.model_selection import train_test_split

from serbench.errors import InputError
from serbench.protocols import check_fractions, fold_rows, stratifiable

log = logging.getLogger(__name__)
SHOWN = 5  # ids named in a report of missing or extra utterances
SHARED_SPEAKERS = ("emodb", "tess")  # corpora whose EmoBox test folds hold speakers they train on (a test checks)


@functools.cache
def fold_table() -> pd.DataFrame:
    """The shipped membership: ``corpus, utterance_id, emotion, test_fold`` (1-based; 0 = only ever trained on)."""
    return pd.read_csv(files(__package__) / "folds.csv", dtype={"utterance_id": str})


def covered() -> list[str]:
    """Corpora with EmoBox folds, sorted."""
    return sorted(fold_table()["corpus"].unique())


def fold_count(corpus: str) -> int:
    """EmoBox's folds of ``corpus`` (EmoDB 5, RAVDESS 6, SAVEE 4, TESS 1).

    Raises:
        InputError: a corpus EmoBox's shipped folds do not cover.
    """
    return int(_listed(corpus)["test_fold"].max())


def _listed(corpus: str) -> pd.DataFrame:
    table = fold_table()
    if corpus not in set(table["corpus"]):
        raise InputError(f"EmoBox publishes no folds for {corpus!r} here; it has {', '.join(covered())}")
    return table[table["corpus"] == corpus]


def _report(corpus: str, what: str, ids: list[str]) -> None:
    if ids:
        shown = ", ".join(sorted(ids)[:SHOWN]) + (", ..." if len(ids) > SHOWN else "")
        log.warning("%s: %d utterances %s (%s)", corpus, len(ids), what, shown)


def emobox_split(manifest: pd.DataFrame, corpus: str, seed: int, validation_fraction: float = 0.1) -> pd.DataFrame:
    """EmoBox's folds of ``corpus`` over the utterances of ``manifest``.

    Utterances EmoBox lists that the manifest lacks, and utterances of the manifest EmoBox does not list, are left
    out and reported in the log (count and the first ids); the test set of every fold is EmoBox's, less the missing.

    Args:
        manifest: one corpus's manifest (``utterance_id``, ``emotion``).
        corpus: its name.
        seed: seed of each fold's validation draw (fold ``i`` uses ``seed + i``).
        validation_fraction: share of each fold's training utterances that validates, stratified by emotion.

    Returns:
        Fold table, folds ``"0"`` .. ``str(fold_count(corpus) - 1)``.

    Raises:
        InputError: a corpus without EmoBox folds, ``validation_fraction`` outside (0, 1), an utterance whose
            emotion differs from EmoBox's (the message names them), or a copy holding none of its test utterances.
    """
    check_fractions(validation_fraction)
    listed = _listed(corpus)
    ours = manifest.set_index(manifest["utterance_id"].astype(str))["emotion"]
    _report(
        corpus,
        "of EmoBox's folds are not in this copy and are left out",
        sorted(set(listed["utterance_id"]) - set(ours.index)),
    )
    _report(
        corpus,
        "of this copy are in no EmoBox fold and are left out",
        sorted(set(ours.index) - set(listed["utterance_id"])),
    )
    listed = listed[listed["utterance_id"].isin(ours.index)]
    differ = listed[listed["emotion"].to_numpy() != ours[listed["utterance_id"]].to_numpy()]
    if len(differ):
        raise InputError(
            f"{corpus}: {len(differ)} utterances labelled otherwise than in EmoBox, e.g. "
            f"{differ['utterance_id'].iloc[0]} ({ours[differ['utterance_id'].iloc[0]]} here, "
            f"{differ['emotion'].iloc[0]} in EmoBox)"
        )
    tables = []
    for fold in range(fold_count(corpus)):
        is_test = listed["test_fold"] == fold + 1
        if not is_test.any():
            log.warning(
                "%s: none of EmoBox's fold_%d test utterances is in this copy; the fold is left out", corpus, fold + 1
            )
            continue
        rest = listed[~is_test]
        train_ids, val_ids = train_test_split(
            rest["utterance_id"].to_numpy(),
            test_size=validation_fraction,
            stratify=rest["emotion"] if stratifiable(rest["emotion"], validation_fraction) else None,
            random_state=seed + fold,
        )
        parts = {"train": train_ids, "validation": val_ids, "test": listed.loc[is_test, "utterance_id"].to_numpy()}
        tables.append(fold_rows(str(fold), corpus, parts))
    if not tables:
        raise InputError(f"{corpus}: none of EmoBox's test utterances is in this copy")
    return pd.concat(tables, ignore_index=True)
