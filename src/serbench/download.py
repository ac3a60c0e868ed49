"""Fetching a corpus's official distribution with pooch."""

from __future__ import annotations

import logging
from pathlib import Path

import pooch

from serbench.corpora import get_adapter
from serbench.errors import SerbenchError

log = logging.getLogger(__name__)


class DownloadError(SerbenchError, RuntimeError):
    """A corpus could not be fetched; the message says where to put a local copy."""


def fetch_corpus(corpus: str, dest: str | Path, checksum: str | None = None) -> Path:
    """Download a corpus's official archive, check it, and unpack it into ``dest``.

    Args:
        corpus: registered corpus name.
        dest: the corpus folder to create (``<data_root>/<corpus>``).
        checksum: the archive's pinned checksum as ``algorithm:hex`` (``md5:…``, ``sha256:…``; config key
            ``download_checksums``); empty or ``None`` where none is published: the hash computed is then
            logged, to pin.

    Returns:
        ``dest``.

    Raises:
        DownloadError: licensed corpus without a public download (the message says where it is obtained),
            no network, or a checksum mismatch (the message names the archive, expected and actual hash).
            Nothing is left behind: no partial archive, no empty download folder.
    """
    dest = Path(dest).resolve()
    adapter = get_adapter(corpus)
    download = adapter.download
    if download is None:
        raise DownloadError(
            f"{corpus} is licensed and has no public download: obtain it {adapter.obtain} and put your copy in {dest}"
        )
    cache = dest.parent / ".downloads"
    archive = cache / f"{corpus}.zip"
    try:
        pooch.retrieve(download.url, known_hash=None, fname=archive.name, path=cache, progressbar=False)
        if checksum:
            algorithm, _, expected = checksum.partition(":")
            actual = pooch.file_hash(str(archive), alg=algorithm)
            if actual != expected:
                raise DownloadError(
                    f"{archive}: checksum mismatch for {corpus} ({download.url}): "
                    f"expected {algorithm}:{expected}, got {algorithm}:{actual}"
                )
        else:
            log.warning(
                "%s: no pinned checksum; sha256 of %s is %s (pin it as download_checksums.%s in your --configfile)",
                corpus,
                archive.name,
                pooch.file_hash(str(archive)),
                corpus,
            )
        pooch.Unzip(extract_dir=str(dest))(str(archive), "download", None)
    except (OSError, ValueError) as err:
        raise DownloadError(
            f"could not download {corpus} from {download.url} ({type(err).__name__}); "
            f"put a local copy of the corpus in {dest} or set data_root (--config data_root=PATH or your "
            f"--configfile) to the folder holding '{corpus}/'"
        ) from err
    finally:
        archive.unlink(missing_ok=True)
        if cache.is_dir() and not any(cache.iterdir()):
            cache.rmdir()
    return dest
