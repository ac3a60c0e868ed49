"""The DistilHuBERT study's folds: speaker (or session) folds of the study corpus, extra training corpora added
to every training subset, and the study's classes (Ismail: four classes, CREMA-D as extra training data)."""

from __future__ import annotations

import pandas as pd

from serbench.atomic import write_csv
from serbench.corpora import read_manifest
from serbench.emobox import emobox_split
from serbench.folds import seeded_folds
from serbench.labels import LABEL_MAPS
from serbench.protocols import production_split, speaker_independent_split


def add_extra_training(folds: pd.DataFrame, extra: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Add every utterance of the ``extra`` corpora to the training subset of every fold.

    Ismail's CREMA-D setting: the extra corpus trains only, never validates or tests.
    """
    rows = [folds]
    for fold in folds["fold"].unique():
        for corpus, manifest in extra.items():
            rows.append(
                pd.DataFrame(
                    {"fold": fold, "corpus": corpus, "utterance_id": manifest["utterance_id"], "subset": "train"}
                )
            )
    return pd.concat(rows, ignore_index=True)


def relabel(folds: pd.DataFrame, manifests: dict[str, pd.DataFrame], label_map: dict[str, str] | None) -> pd.DataFrame:
    """Give a fold table an ``emotion`` column, the study's class of each utterance.

    Args:
        folds: fold table.
        manifests: manifest of every corpus the table names.
        label_map: canonical emotion -> study class (``serbench.labels.FOUR_CLASS``);
            utterances of unmapped emotions are left out. ``None`` keeps every emotion.
    """
    emotion_of = {(c, u): e for c, m in manifests.items() for u, e in zip(m["utterance_id"], m["emotion"])}
    emotions = [emotion_of[key] for key in zip(folds["corpus"], folds["utterance_id"])]
    if label_map is not None:
        emotions = [label_map.get(e) for e in emotions]
    kept = folds.assign(emotion=emotions)
    return kept[kept["emotion"].notna()].reset_index(drop=True)


def write_split(
    dataset: str,
    manifests: dict[str, str],
    extra: list[str],
    label_map: str,
    seeds: list[int],
    out: str,
    n_folds: int,
    group_column: str,
    validation_speakers: int = 1,
    validation_fraction: float = 0.1,
    production_validation: float | None = None,
    protocol: str = "speaker_independent",
) -> None:
    """Speaker-independent folds of ``dataset`` (``protocol`` ``emobox``: EmoBox's published folds,
    :func:`serbench.emobox.emobox_split`, ``n_folds`` and the group settings unused) for every seed, the ``extra``
    corpora added to every training subset, relabelled to the study's classes; one CSV with a ``seed`` column.

    With ``production_validation`` and speaker folds, each seed also has the fold ``production``
    (:func:`serbench.protocols.production_split`): all of ``dataset`` but that
    share trains, the share validates, and there is no test subset.
    """
    tables = {name: read_manifest(path) for name, path in manifests.items()}

    def folds(seed: int) -> pd.DataFrame:
        if protocol == "emobox":
            table = emobox_split(tables[dataset], dataset, seed, validation_fraction)
        else:
            table = speaker_independent_split(
                tables[dataset], dataset, n_folds, seed, validation_speakers, validation_fraction, group_column
            )
            if production_validation is not None:
                table = pd.concat([table, production_split(tables[dataset], dataset, seed, production_validation)])
        return relabel(add_extra_training(table, {name: tables[name] for name in extra}), tables, LABEL_MAPS[label_map])

    write_csv(out, seeded_folds(folds, seeds))
