"""Fetching a corpus's official distribution with pooch."""

from __future__ import annotations

import logging
from pathlib import Path

import pooch

from serbench.corpora import get_adapter

log = logging.getLogger(__name__)


class DownloadError(RuntimeError):
    """A corpus could not be fetched; the message says where to put a local copy."""


def fetch_corpus(corpus: str, dest: str | Path, sha256: str | None = None) -> Path:
    """Download and unpack a corpus's official archive into ``dest``.

    Args:
        corpus: registered corpus name.
        dest: the corpus folder to create (``<data_root>/<corpus>``).
        sha256: checksum of the archive; overrides the adapter's. With no
            checksum known, pooch logs the hash it computed, to pin in config.

    Returns:
        ``dest``.

    Raises:
        DownloadError: licensed corpus without a public download, no network,
            or a checksum mismatch.
    """
    dest = Path(dest).resolve()
    download = get_adapter(corpus).download
    if download is None:
        raise DownloadError(f"{corpus} is licensed and has no public download: put your copy in {dest}")
    cache = dest.parent / ".downloads"
    try:
        pooch.retrieve(
            download.url,
            known_hash=f"sha256:{sha256 or download.sha256}" if (sha256 or download.sha256) else None,
            fname=f"{corpus}.zip",
            path=cache,
            processor=pooch.Unzip(extract_dir=str(dest)),
            progressbar=False,
        )
    except (OSError, ValueError) as err:
        raise DownloadError(
            f"could not download {corpus} from {download.url} ({type(err).__name__}); "
            f"put a local copy of the corpus in {dest} or set data_root in config.yaml "
            f"to the folder holding '{corpus}/'"
        ) from err
    return dest
