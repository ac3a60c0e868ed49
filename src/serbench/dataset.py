"""Reading fold tables (``seed, fold, corpus, utterance_id, subset``, written by :mod:`serbench.protocols`)
and joining them with manifests and per-utterance caches into arrays per subset."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from serbench.cache import load_ragged, load_rows
from serbench.corpora import read_manifest

SUBSETS: tuple[str, ...] = ("train", "validation", "test")
FOLD_COLUMNS: tuple[str, ...] = ("seed", "fold", "corpus", "utterance_id", "subset")


def read_folds(path: str | Path, seed: int | None = None) -> pd.DataFrame:
    """Read a fold table, ids and folds as strings; only ``seed``'s rows when given.

    Raises:
        ValueError: a column of :data:`FOLD_COLUMNS` is missing, or no row has ``seed``.
    """
    folds = pd.read_csv(path, dtype={"fold": str, "corpus": str, "utterance_id": str, "subset": str, "emotion": str})
    missing = set(FOLD_COLUMNS) - set(folds.columns)
    if missing:
        raise ValueError(f"{path}: not a fold table, missing columns {sorted(missing)}")
    if seed is not None:
        folds = folds[folds["seed"] == seed]
        if folds.empty:
            raise ValueError(f"{path}: no folds for seed {seed}")
    return folds


@dataclass(frozen=True)
class Subset:
    """Arrays of one subset of one fold.

    Attributes:
        features: ``(N, dim)`` utterance-level, ``(N, frames, dim)`` frame-level zero-padded after each
            utterance's ``lengths`` frames, or an object array of ``(samples_i,)`` waveforms.
        lengths: ``(N,)`` valid frames (or samples) per utterance (1 for utterance-level).
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
    """Where one corpus's manifest and per-utterance cache are (utterance or frame features, waveforms)."""

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


class CorpusArrays:
    """Emotions and cached arrays of several corpora, read once and then cut into the subsets of any fold.

    Args:
        corpora: files of every corpus the fold tables name.
        level: ``"utterance"`` (``(N, dim)``), ``"frames"`` (``(N, T, dim)``) or ``"waveforms"``
            (an object array of ``(samples_i,)`` waveforms, lengths in samples).
        max_frames: frame-level sequences are cut to this many frames.
    """

    def __init__(self, corpora: dict[str, CorpusFiles], level: str = "utterance", max_frames: int = 256):
        self.files, self.level, self.max_frames = corpora, level, max_frames
        self.emotion: dict[tuple[str, str], str] = {}
        self.items: dict[tuple[str, str], np.ndarray] = {}
        for name, files in corpora.items():
            manifest = read_manifest(files.manifest)
            self.emotion.update(((name, u), e) for u, e in zip(manifest["utterance_id"], manifest["emotion"]))
            ids, items = load_rows(files.features) if level == "utterance" else load_ragged(files.features)
            self.items.update(((name, str(u)), item) for u, item in zip(ids, items))

    def split(self, folds: pd.DataFrame, fold: str, source: str | Path = "fold table") -> SplitData:
        """Arrays of ``fold`` of a fold table (one seed's rows), labels from the manifests.

        ``folds`` may carry an ``emotion`` column, the study's own class of each
        utterance (see ``relabel`` in the DistilHuBERT study); otherwise the
        manifest's emotion is the class.

        Raises:
            ValueError: the table names a corpus without files, an utterance
                without features, or the fold has an empty subset; the message names ``source``.
        """
        unknown = set(folds["corpus"]) - set(self.files)
        if unknown:
            raise ValueError(f"{source}: no manifest or features given for corpora {sorted(unknown)}")
        keys = list(zip(folds["corpus"], folds["utterance_id"]))
        emotions = folds["emotion"].tolist() if "emotion" in folds else [self.emotion[k] for k in keys]
        classes = sorted(set(emotions))
        folds = folds.assign(emotion=emotions)
        folds = folds[folds["fold"] == str(fold)]
        subsets = {}
        for subset in SUBSETS:
            rows = folds[folds["subset"] == subset]
            if rows.empty:
                raise ValueError(f"{source}: fold {fold} has no {subset} utterances")
            values = []
            for key in zip(rows["corpus"], rows["utterance_id"]):
                if key not in self.items:
                    raise ValueError(
                        f"{source}: utterance {key[0]}/{key[1]} has no features in {self.files[key[0]].features}"
                    )
                values.append(self.items[key])
            labels = np.array([classes.index(e) for e in rows["emotion"]])
            subsets[subset] = Subset(*self._stack(values), labels, rows["utterance_id"].to_numpy())
        return SplitData(classes, subsets)

    def _stack(self, values: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        if self.level == "utterance":
            return np.stack(values), np.ones(len(values), dtype=np.int64)
        if self.level == "waveforms":
            waveforms = np.empty(len(values), dtype=object)
            waveforms[:] = values
            return waveforms, np.array([len(v) for v in values])
        return pad_frames(values, self.max_frames)


def load_split_data(
    split_path: str | Path,
    fold: str,
    corpora: dict[str, CorpusFiles],
    level: str = "utterance",
    max_frames: int = 256,
    seed: int | None = None,
) -> SplitData:
    """Arrays of ``fold`` (of ``seed``, when the table holds several) of a fold table on disk.

    See :class:`CorpusArrays`; use that directly to cut many folds from one read of the caches.
    """
    folds = read_folds(split_path, seed)
    named = set(folds["corpus"])
    return CorpusArrays({c: f for c, f in corpora.items() if c in named}, level, max_frames).split(
        folds, fold, split_path
    )
