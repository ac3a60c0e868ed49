"""Atomic file writes: a reader never sees a half-written output.

Every writer in serbench goes through :func:`atomic_path`: the content is
written to a temporary file in the destination folder and moved into place
with :func:`os.replace`, which is atomic on POSIX file systems.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path that replaces ``path`` when the block succeeds.

    Args:
        path: final destination; its parent folders are created.
        suffix: suffix of the temporary file (some writers infer the format
            from it, e.g. ``".png"`` for matplotlib).

    On an exception the temporary file is removed and ``path`` is untouched.
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=suffix or dest.suffix)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide results from other users
    try:
        yield Path(tmp)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_csv(path: str | os.PathLike, table: pd.DataFrame) -> None:
    """Write a table as CSV without its index, atomically."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write a text file, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_figure(path: str | os.PathLike, figure) -> None:
    """Save a matplotlib figure as PNG (120 dpi, tight layout), atomically, and close it."""
    import matplotlib.pyplot as plt

    figure.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        figure.savefig(tmp, dpi=120, format="png")
    plt.close(figure)
