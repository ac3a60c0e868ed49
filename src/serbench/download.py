"""Fetching a corpus's official distribution with pooch."""

from __future__ import annotations

import logging
import shutil
import zipfile
from pathlib import Path

import pooch

from serbench.corpora import get_adapter
from serbench.errors import SerbenchError

log = logging.getLogger(__name__)


class DownloadError(SerbenchError, RuntimeError):
    """A corpus could not be fetched; the message says where to put a local copy."""


def fetch_corpus(corpus: str, dest: str | Path, checksum: str | None = None, url: str | None = None) -> Path:
    """Download a corpus's official archive, check it, and unpack it into ``dest``.

    Args:
        corpus: registered corpus name.
        dest: the corpus folder to create (``<data_root>/<corpus>``).
        checksum: the archive's pinned checksum as ``algorithm:hex`` (``md5:…``, ``sha256:…``; config key
            ``download_checksums``); empty or ``None`` where none is published: the hash computed is then
            logged, to pin.
        url: where to fetch the same archive instead of its distributor (a mirror, a proxy's cache, a local
            server; config key ``download_urls``); empty or ``None``: the distributor's.

    Returns:
        ``dest``.

    Raises:
        DownloadError: licensed corpus without a public download (the message says where it is obtained),
            no network, a server error (404, a connection dropped halfway), an archive that does not unzip, or a
            checksum mismatch (the message names the archive, expected and actual hash). Nothing is left behind:
            no partial archive, no half-unpacked corpus folder, no empty download folder.
    """
    dest = Path(dest).resolve()
    adapter = get_adapter(corpus)
    if adapter.download is None and not url:
        raise DownloadError(
            f"{corpus} is licensed and has no public download: obtain it {adapter.obtain} and put your copy in {dest}"
        )
    source = url or adapter.download.url
    terms = adapter.download.license_note if adapter.download else f"licensed, obtained {adapter.obtain}"
    log.info("%s: fetching %s into %s; its terms of use: %s", corpus, source, dest, terms)
    cache = dest.parent / ".downloads"
    archive, unpacking = cache / f"{corpus}.zip", cache / f"{corpus}.unpacking"
    try:
        pooch.retrieve(source, known_hash=None, fname=archive.name, path=cache, progressbar=False)
        if checksum:
            algorithm, _, expected = checksum.partition(":")
            actual = pooch.file_hash(str(archive), alg=algorithm)
            if actual != expected:
                raise DownloadError(
                    f"{archive}: checksum mismatch for {corpus} ({source}): "
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
        with zipfile.ZipFile(archive) as packed:
            packed.extractall(unpacking)
        unpacking.rename(dest)
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise DownloadError(
            f"could not download {corpus} from {source} ({type(err).__name__}: {err}); "
            f"put a local copy of the corpus in {dest} or set data_root (--config data_root=PATH or your "
            f"--configfile) to the folder holding '{corpus}/'"
        ) from err
    finally:
        archive.unlink(missing_ok=True)
        shutil.rmtree(unpacking, ignore_errors=True)
        if cache.is_dir() and not any(cache.iterdir()):
            cache.rmdir()
    return dest
