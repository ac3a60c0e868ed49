"""Joining fold tables (:mod:`serbench.folds`) with manifests and per-utterance caches into arrays per subset."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from serbench.cache import load_ragged, load_rows
from serbench.corpora import read_manifest
from serbench.errors import InputError
from serbench.folds import SUBSETS, read_folds

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Subset:
    """Arrays of one subset of one fold.

    Attributes:
        features: ``(N, dim)`` utterance-level, ``(N, frames, dim)`` frame-level zero-padded after each
            utterance's ``lengths`` frames, or an object array of ``(samples_i,)`` waveforms.
        lengths: ``(N,)`` valid frames (or samples) per utterance (1 for utterance-level).
        labels: ``(N,)`` indices into :attr:`SplitData.classes`.
        ids: ``(N,)`` utterance ids.
        speakers: ``(N,)`` each utterance's speaker (``"corpus/speaker"``), or ``None`` when not known.
    """

    features: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    ids: np.ndarray
    speakers: np.ndarray | None = None


@dataclass(frozen=True)
class SplitData:
    """Arrays of one fold; ``classes`` are the emotions of the whole fold table, sorted.

    ``subsets`` has ``train``, ``validation`` and ``test``, and ``search`` where the fold table sets
    validation utterances aside for the bit search.
    """

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


def standardise_groups(items: list[np.ndarray], groups: list[str]) -> list[np.ndarray]:
    """Each group's items standardised per feature (last axis) with the group's mean and std over all its rows.

    ``groups`` empty leaves the items unchanged; a feature constant within a group is only centred.

    >>> [a.tolist() for a in standardise_groups([np.array([1.0]), np.array([3.0]), np.array([5.0])], ["a", "a", "b"])]
    [[-1.0], [1.0], [0.0]]
    """
    if not groups:
        return items
    out = list(items)
    for group in set(groups):
        members = [i for i, g in enumerate(groups) if g == group]
        rows = np.concatenate([np.atleast_2d(items[i]) for i in members])
        mean, std = rows.mean(axis=0, dtype=np.float64), rows.std(axis=0, dtype=np.float64)
        std = np.where(std > 0, std, 1.0)
        for i in members:
            out[i] = ((items[i] - mean) / std).astype(np.float32)
    return out


class CorpusArrays:
    """Emotions and cached arrays of several corpora, read once and then cut into the subsets of any fold.

    Args:
        corpora: files of every corpus the fold tables name.
        level: ``"utterance"`` (``(N, dim)``), ``"frames"`` (``(N, T, dim)``) or ``"waveforms"``
            (an object array of ``(samples_i,)`` waveforms, lengths in samples).
        max_frames: frame-level sequences are cut to this many frames.
        normalise: ``"none"``; ``"corpus"`` or ``"speaker"``: each corpus's (or speaker's) features
            standardised to zero mean and unit variance per feature with its own statistics, over all its
            utterances (frames), labels unused (the cross-corpus normalisation of Schuller et al. 2010;
            the test corpus is normalised with its own statistics).
    """

    def __init__(
        self, corpora: dict[str, CorpusFiles], level: str = "utterance", max_frames: int = 256, normalise: str = "none"
    ):
        self.files, self.level, self.max_frames = corpora, level, max_frames
        self.emotion: dict[tuple[str, str], str] = {}
        self.speaker: dict[tuple[str, str], str] = {}
        self.items: dict[tuple[str, str], np.ndarray] = {}
        for name, files in corpora.items():
            manifest = read_manifest(files.manifest)
            self.emotion.update(((name, u), e) for u, e in zip(manifest["utterance_id"], manifest["emotion"]))
            speakers = zip(manifest["utterance_id"], manifest["speaker"])
            self.speaker.update(((name, u), f"{name}/{s}") for u, s in speakers)
            ids, items = load_rows(files.features) if level == "utterance" else load_ragged(files.features)
            items = standardise_groups(list(items), self._groups(manifest, ids, normalise))
            self.items.update(((name, str(u)), item) for u, item in zip(ids, items))

    @staticmethod
    def _groups(manifest: pd.DataFrame, ids: np.ndarray, normalise: str) -> list[str]:
        if normalise not in ("none", "corpus", "speaker"):
            raise ValueError(f"unknown normalisation {normalise!r}; expected none, corpus or speaker")
        if normalise == "none":
            return []
        speaker = dict(zip(manifest["utterance_id"], manifest["speaker"].astype(str)))
        return [speaker.get(str(u), "") if normalise == "speaker" else "corpus" for u in ids]

    def split(
        self, folds: pd.DataFrame, fold: str, source: str | Path = "fold table", optional: tuple[str, ...] = ()
    ) -> SplitData:
        """Arrays of ``fold`` of a fold table (one seed's rows), labels from the manifests.

        ``folds`` may carry an ``emotion`` column, the study's own class of each
        utterance (see ``relabel`` in the DistilHuBERT study); otherwise the
        manifest's emotion is the class.

        ``search`` and the subsets named in ``optional`` (``test`` of a production
        fold) may be absent; ``subsets`` then lacks them. A validation or search
        subset without some class is logged as a warning, naming the classes.

        Raises:
            ValueError: the table names a corpus without files, an utterance
                without features, or the fold has another empty subset; the message names ``source``.
        """
        unknown = set(folds["corpus"]) - set(self.files)
        if unknown:
            raise InputError(f"{source}: no manifest or features given for corpora {sorted(unknown)}")
        keys = list(zip(folds["corpus"], folds["utterance_id"]))
        emotions = folds["emotion"].tolist() if "emotion" in folds else [self.emotion[k] for k in keys]
        classes = sorted(set(emotions))
        folds = folds.assign(emotion=emotions)
        folds = folds[folds["fold"] == str(fold)]
        subsets = {}
        for subset in (*SUBSETS, "search"):
            rows = folds[folds["subset"] == subset]
            if rows.empty and subset in ("search", *optional):
                continue
            if rows.empty:
                raise InputError(f"{source}: fold {fold} has no {subset} utterances")
            values = []
            for key in zip(rows["corpus"], rows["utterance_id"]):
                if key not in self.items:
                    raise InputError(
                        f"{source}: utterance {key[0]}/{key[1]} has no features in {self.files[key[0]].features}"
                    )
                values.append(self.items[key])
            labels = np.array([classes.index(e) for e in rows["emotion"]])
            speakers = np.array([self.speaker[k] for k in zip(rows["corpus"], rows["utterance_id"])])
            subsets[subset] = Subset(*self._stack(values), labels, rows["utterance_id"].to_numpy(), speakers)
            absent = sorted(set(classes) - set(rows["emotion"]))
            if absent and subset in ("validation", "search"):  # what chooses epochs and bits never sees them
                log.warning(
                    "%s: fold %s: its %s subset (%d utterances) holds no %s utterance",
                    source,
                    fold,
                    subset,
                    len(rows),
                    ", ".join(absent),
                )
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
