"""Per-utterance array caches (.npz): fixed-size rows, or ragged rows stored flat with offsets.

A damaged cache is a :class:`serbench.step_files.DamagedFileError` naming it and the command that rebuilds it,
never a crash deep in numpy.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from serbench.atomic import atomic_path
from serbench.step_files import damaged


def save_rows(path: str | Path, utterance_ids: list[str], rows: np.ndarray) -> None:
    """Write ``ids (N,)`` and ``features (N, ...)`` as .npz, atomically."""
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, ids=np.asarray(utterance_ids), features=rows)


def save_ragged(path: str | Path, utterance_ids: list[str], arrays: list[np.ndarray]) -> None:
    """Write one ``(length_i, ...)`` array per utterance as .npz, atomically.

    Stored flat: ``values (total, ...)`` and ``offsets (N + 1,)``, so utterance
    ``i`` is ``values[offsets[i]:offsets[i + 1]]``.
    """
    offsets = np.concatenate([[0], np.cumsum([len(a) for a in arrays])])
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, ids=np.asarray(utterance_ids), offsets=offsets, values=np.concatenate(arrays))


def _load(path: str | Path, keys: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    try:
        with np.load(path) as data:
            return tuple(data[k] for k in keys)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise damaged(path, "cache", err) from err


def load_rows(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read :func:`save_rows` output: ``(ids (N,), features (N, ...))``.

    Raises:
        DamagedFileError: the file is damaged or not such a cache; the message names it and the rebuild command.
    """
    return _load(path, ("ids", "features"))


def load_ragged(path: str | Path) -> tuple[np.ndarray, list[np.ndarray]]:
    """Read :func:`save_ragged` output: ``(ids (N,), [array_i (length_i, ...)])``.

    Raises:
        DamagedFileError: as :func:`load_rows`.
    """
    ids, offsets, values = _load(path, ("ids", "offsets", "values"))
    return ids, [values[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
