"""Per-utterance array caches (.npz): fixed-size rows, or ragged rows stored flat with offsets.

Readers turn a damaged file into a :class:`DamagedFileError` naming it and the
command that rebuilds it, never a crash deep in numpy.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from serbench.atomic import atomic_path
from serbench.errors import InputError
from serbench.integrity import rebuild_target

REBUILD_VARIABLE = "SERBENCH_REBUILD"  # the run's rebuild command, set by the workflow (serbench.workflow)


class DamagedFileError(InputError):
    """A cache or model file that cannot be read back (truncated, overwritten, not ours)."""


def damaged(path: str | Path, what: str, reason: object) -> DamagedFileError:
    """The error for a damaged workflow output: names the file, the reason and the command that rebuilds it.

    The command rebuilds the output Snakemake knows (:func:`serbench.integrity.rebuild_target`): the file, or
    the folder output (a cell of models) holding it. Under the workflow the command is the run's own
    (``SERBENCH_REBUILD``, set by ``common.smk`` from :func:`serbench.workflow.rebuild_command`): its
    Snakefile, folder, config files and ``--config`` values.

    >>> message = str(damaged("results/features/emodb.npz", "feature cache", "truncated"))
    >>> message.startswith("results/features/emodb.npz: damaged feature cache (truncated); rebuild it with: ")
    True
    >>> message.endswith("snakemake --cores 1 --force results/features/emodb.npz")
    True
    """
    command = os.environ.get(REBUILD_VARIABLE, "snakemake --cores 1 --force")
    target = rebuild_target(path)
    hint = "rebuild it with" if target == Path(path) else f"rebuild {target}, which holds it, with"
    return DamagedFileError(f"{path}: damaged {what} ({reason}); {hint}: {command} {target}")


def load_checkpoint(path: str | Path) -> dict:
    """A dict saved with ``torch.save`` (heads, self-distillation models), tensors only (``weights_only``).

    Raises:
        DamagedFileError: missing, truncated or not such a file; the message names it and the rebuild command.
    """
    import pickle

    import torch

    try:
        return torch.load(path, weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as err:
        raise damaged(path, "model file", err) from err


def read_json(path: str | Path, what: str = "JSON file"):
    """A JSON file written by a workflow step.

    Raises:
        DamagedFileError: missing, truncated or not JSON; the message names it and the rebuild command.
    """
    import json

    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise damaged(path, what, err) from err


def read_records(path: str | Path, keys: tuple[str, ...] = ("dataset", "fold", "seed")) -> list[dict]:
    """The run records of a step's metrics file: a non-empty JSON list of objects, each holding ``keys``.

    Raises:
        DamagedFileError: not JSON, or JSON of another shape (``[]``, an object, a record without a key); the
            message names the file, what is wrong and the rebuild command.
    """
    records = read_json(path, "metrics file")
    if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
        raise damaged(path, "metrics file", "not a non-empty list of run records")
    for number, record in enumerate(records):
        missing = [key for key in keys if key not in record]
        if missing:
            raise damaged(path, "metrics file", f"run record {number} lacks {', '.join(missing)}")
    return records


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
