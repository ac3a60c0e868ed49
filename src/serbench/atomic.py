"""Atomic file writes: a reader never sees a half-written output.

Every writer in serbench goes through :func:`atomic_path`: the content is
written to a temporary file in the destination folder and moved into place
with :func:`os.replace`, which is atomic on POSIX file systems.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serbench.errors import SerbenchError

if TYPE_CHECKING:
    import pandas as pd


log = logging.getLogger(__name__)
# errors of the writing itself (not of reading inputs inside the block): full disk, quota, read-only, too large, I/O
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EIO})


class OutputWriteError(SerbenchError, RuntimeError):
    """An output that could not be written (disk full, quota, read-only folder): the message names its path."""

    def __init__(self, path: str | os.PathLike, err: OSError):
        super().__init__(f"{path}: cannot write ({err.strerror or err}); nothing of it was kept")


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path that replaces ``path`` when the block succeeds.

    Args:
        path: final destination; its parent folders are created.
        suffix: suffix of the temporary file (some writers infer the format
            from it, e.g. ``".png"`` for matplotlib).

    On an exception the temporary file is removed and ``path`` is untouched.

    Raises:
        OutputWriteError: the folder or temporary file cannot be created or moved into place, or the block
            fails for want of space, quota or a writable disk (:data:`WRITE_ERRNOS`).
    """
    dest = Path(path)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=suffix or dest.suffix)
    except OSError as err:
        raise OutputWriteError(dest, err) from err
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide results from other users
    try:
        yield Path(tmp)
        try:
            os.replace(tmp, dest)
        except OSError as err:
            raise OutputWriteError(dest, err) from err
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        if err.errno in WRITE_ERRNOS:
            raise OutputWriteError(dest, err) from err
        raise
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
    """Save a matplotlib figure as PNG (120 dpi, tight layout), atomically, and close it; texts that overprint
    are logged as a warning naming the file (:func:`serbench.figure_check.overlapping_texts`)."""
    import matplotlib.pyplot as plt

    from serbench.figure_check import overlapping_texts

    figure.tight_layout()
    for first, second in overlapping_texts(figure):
        log.warning("%s: %r overprints %r", path, first, second)
    with atomic_path(path, suffix=".png") as tmp:
        figure.savefig(tmp, dpi=120, format="png")
    plt.close(figure)
