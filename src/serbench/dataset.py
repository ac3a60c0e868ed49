"""Joining fold tables, manifests and feature caches into arrays per subset."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from serbench.corpora import read_manifest
from serbench.cache import load_ragged, load_rows
from serbench.protocols import SUBSETS, read_folds


@dataclass(frozen=True)
class Subset:
    """Arrays of one subset of one fold.

    Attributes:
        features: ``(N, dim)`` utterance-level, or ``(N, frames, dim)`` frame-level
            zero-padded after each utterance's ``lengths`` frames.
        lengths: ``(N,)`` valid frames per utterance (1 for utterance-level).
        labels: ``(N,)`` indices into :attr:`SplitData.classes`.
        ids: ``(N,)`` utterance ids.
    """

    features: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    ids: np.ndarray


@dataclass(frozen=True)
class SplitData:
    """Arrays of one fold; ``classes`` are the emotions of the whole fold table, sorted."""

    classes: list[str]
    subsets: dict[str, Subset]


@dataclass(frozen=True)
class CorpusFiles:
    """Where one corpus's manifest and feature cache are (utterance .npz or frames .npz)."""

    manifest: str | Path
    features: str | Path


def pad_frames(sequences: list[np.ndarray], max_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Stack ``(frames_i, dim)`` arrays into ``(N, T, dim)``, zero-padded, cut at ``max_frames``.

    ``T`` is the longest kept length. Returns ``(padded, lengths (N,))``.

    >>> padded, lengths = pad_frames([np.ones((2, 1)), np.ones((5, 1))], max_frames=4)
    >>> padded.shape, lengths.tolist()
    ((2, 4, 1), [2, 4])
    """
    lengths = np.array([min(len(s), max_frames) for s in sequences])
    padded = np.zeros((len(sequences), lengths.max(), sequences[0].shape[1]), dtype=np.float32)
    for row, (sequence, length) in enumerate(zip(sequences, lengths)):
        padded[row, :length] = sequence[:length]
    return padded, lengths


def _corpus_arrays(files: CorpusFiles, level: str) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    manifest = read_manifest(files.manifest).set_index("utterance_id")
    if level == "utterance":
        ids, features = load_rows(files.features)
        return manifest, dict(zip(ids, features))
    ids, frames = load_ragged(files.features)
    return manifest, dict(zip(ids, frames))


def load_split_data(
    split_path: str | Path, fold: str, corpora: dict[str, CorpusFiles], level: str = "utterance", max_frames: int = 256,
) -> SplitData:
    """Arrays of ``fold`` of a fold table, labels from the manifests.

    Args:
        split_path: fold table (columns ``fold, corpus, utterance_id, subset``,
            and ``emotion`` where a study relabels utterances).
        fold: which fold.
        corpora: files of every corpus the fold table names.
        level: ``"utterance"`` (``(N, dim)``), ``"frames"`` (``(N, T, dim)``) or ``"waveforms"``
            (an object array of ``(samples_i,)`` waveforms, lengths in samples).
        max_frames: frame-level sequences are cut to this many frames.

    Raises:
        ValueError: the table names a corpus without files, an utterance
            without features, or the fold has an empty subset.
    """
    folds = read_folds(split_path)
    unknown = set(folds["corpus"]) - set(corpora)
    if unknown:
        raise ValueError(f"{split_path}: no manifest or features given for corpora {sorted(unknown)}")
    arrays = {name: _corpus_arrays(files, level) for name, files in corpora.items() if name in set(folds["corpus"])}
    if "emotion" in folds:  # the study's own classes (see serbench.protocols.relabel)
        emotions = folds["emotion"].tolist()
    else:
        emotions = [arrays[c][0].loc[u, "emotion"] for c, u in zip(folds["corpus"], folds["utterance_id"])]
    classes = sorted(set(emotions))
    folds = folds.assign(emotion=emotions)
    folds = folds[folds["fold"] == str(fold)]
    subsets = {}
    for subset in SUBSETS:
        rows = folds[folds["subset"] == subset]
        if rows.empty:
            raise ValueError(f"{split_path}: fold {fold} has no {subset} utterances")
        values = []
        for corpus, utterance in zip(rows["corpus"], rows["utterance_id"]):
            if utterance not in arrays[corpus][1]:
                raise ValueError(f"{split_path}: utterance {corpus}/{utterance} has no features in {corpora[corpus].features}")
            values.append(arrays[corpus][1][utterance])
        if level == "utterance":
            features, lengths = np.stack(values), np.ones(len(values), dtype=np.int64)
        elif level == "waveforms":
            features = np.empty(len(values), dtype=object)
            features[:] = values
            lengths = np.array([len(v) for v in values])
        else:
            features, lengths = pad_frames(values, max_frames)
        labels = np.array([classes.index(e) for e in rows["emotion"]])
        subsets[subset] = Subset(features, lengths, labels, rows["utterance_id"].to_numpy())
    return SplitData(classes, subsets)
