"""Checksums of a job's folder outputs (the cells of trained and packed models), so that a damaged file is noticed.

Snakemake sees a folder output (``directory()``) as one thing: a truncated model file inside it leaves the folder
"up to date", and a rebuild must name the folder, not the file. Each finished job writes :data:`INDEX` into each
of its folder outputs: the SHA-256 of every file in it. At DAG time :func:`intact` compares them (a rule's
``params``, so a damaged folder changes the job's params and Snakemake reruns it), and :func:`rebuild_target`
gives the output Snakemake can rebuild for any file inside one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from serbench.atomic import write_json

INDEX = "checksums.json"
TIMESTAMP = ".snakemake_timestamp"  # Snakemake's mark in every folder output it has finished


def _checksums(folder: Path) -> dict[str, str]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in (INDEX, TIMESTAMP))
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def write_index(folder: str | Path) -> None:
    """Record the SHA-256 of every file under ``folder`` in ``folder/checksums.json`` (atomically)."""
    write_json(Path(folder) / INDEX, _checksums(Path(folder)))


def intact(folder: str | Path) -> bool:
    """Whether ``folder``'s files are those its index recorded: none missing, added, truncated or changed.

    A folder that does not exist yet, or has no index (written before indexes were kept), counts as intact;
    an unreadable index does not.
    """
    index = Path(folder) / INDEX
    if not Path(folder).is_dir() or not index.exists():
        return True
    try:
        recorded = json.loads(index.read_text())
    except (OSError, ValueError):
        return False
    return recorded == _checksums(Path(folder))


def rebuild_target(path: str | Path) -> Path:
    """What Snakemake rebuilds for ``path``: the nearest folder output holding it, or ``path`` itself.

    >>> rebuild_target("results/features/emodb.npz")
    PosixPath('results/features/emodb.npz')
    """
    for parent in Path(path).parents:
        if (parent / TIMESTAMP).exists():
            return parent
    return Path(path)
