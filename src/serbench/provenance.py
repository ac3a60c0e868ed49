"""What produced a result: the study's config hash, the package version and the git commit.

Every metrics file records :func:`stamp` when it is written; the table steps
add the config hash the workflow computed for the study (a table rule's
parameter, so a changed key re-stamps the tables without retraining).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from serbench import __version__

if TYPE_CHECKING:
    import pandas as pd

# The config sections each study's results depend on. Where the corpora lie (data_root), which studies run, the
# archives' checksums and the device the torch steps run on are no setting of a result: the same study on a copy
# elsewhere hashes alike (on a GPU, float sums may differ in their last digits; each model's history names its device).
STUDY_SECTIONS: dict[str, tuple[str, ...]] = {
    "quantization": ("quantization",),
    "distilhubert": ("waveform", "distilhubert"),
    "selfdistill": ("waveform", "selfdistill"),
}
NO_RESULT_SECTIONS = ("data_root", "studies", "download_checksums", "download_urls", "device")


def config_hash(settings: dict) -> str:
    """First 12 hex digits of the SHA-256 of ``settings`` as canonical JSON (sorted keys).

    >>> config_hash({"a": 1, "b": [2, 3]}) == config_hash({"b": [2, 3], "a": 1})
    True
    >>> config_hash({"a": 1}) == config_hash({"a": 2})
    False
    """
    canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def study_config_hash(config: dict, study: str) -> str:
    """Hash of the config keys one study's results depend on.

    Each study takes its sections in :data:`STUDY_SECTIONS` (a test checks that every config key is in one of them
    or in :data:`NO_RESULT_SECTIONS`).

    >>> base = {"data_root": "/a", "quantization": {"seeds": [0]}, "distilhubert": {"views": 2}}
    >>> moved = {**base, "data_root": "/b", "distilhubert": {}, "download_checksums": {"ravdess": "md5:0"}}
    >>> study_config_hash(base, "quantization") == study_config_hash(moved, "quantization")
    True
    >>> reseeded = {**base, "quantization": {"seeds": [1]}}
    >>> study_config_hash(base, "quantization") == study_config_hash(reseeded, "quantization")
    False
    """
    return config_hash({k: config.get(k) for k in STUDY_SECTIONS[study]})


def _git(*args: str) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(["git", *args], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None


@lru_cache(maxsize=1)
def git_commit() -> str:
    """The commit of the serbench checkout this code runs from, with ``-dirty`` when tracked files differ from it.

    ``""`` outside a git work tree (an installed wheel) or without git.
    """
    head = _git("rev-parse", "HEAD")
    if head is None or head.returncode != 0:
        return ""
    clean = _git("diff", "--quiet", "HEAD", "--", ".")
    return head.stdout.strip() + ("" if clean is not None and clean.returncode == 0 else "-dirty")


def stamp() -> dict[str, str]:
    """``serbench_version`` and ``git_commit`` for a metrics file."""
    return {"serbench_version": __version__, "git_commit": git_commit()}


def distinct_values(values: pd.Series) -> str:
    """Distinct values of a group, sorted, joined with spaces (one value for a consistent build).

    >>> import pandas as pd
    >>> distinct_values(pd.Series([2, 0, 2]))
    '0 2'
    """
    return " ".join(str(v) for v in sorted(set(values.fillna("")), key=str))
