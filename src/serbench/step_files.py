"""Reading back what a workflow step wrote (JSON records, torch checkpoints): a damaged file is a
:class:`DamagedFileError` naming it and the command that rebuilds it, never a crash deep in a parser."""

from __future__ import annotations

import os
from pathlib import Path

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
