"""Corpus adapters, registered by name.

A new corpus (SAVEE, CREMA-D, IEMOCAP, DEMoS) is one module that defines an
``ADAPTER`` and one line in :data:`CORPORA`.
"""

from serbench.corpora import cremad, demos, emodb, iemocap, ravdess, savee, tess
from serbench.corpora.base import CorpusAdapter, CorpusNotFoundError, build_manifest, left_out, read_manifest
from serbench.errors import UnknownNameError

__all__ = [
    "CORPORA",
    "CorpusAdapter",
    "CorpusNotFoundError",
    "build_manifest",
    "get_adapter",
    "left_out",
    "read_manifest",
]

CORPORA: dict[str, CorpusAdapter] = {
    "emodb": emodb.ADAPTER,
    "tess": tess.ADAPTER,
    "ravdess": ravdess.ADAPTER,
    "cremad": cremad.ADAPTER,
    "iemocap": iemocap.ADAPTER,
    "demos": demos.ADAPTER,
    "savee": savee.ADAPTER,
}


def get_adapter(name: str) -> CorpusAdapter:
    """The adapter registered under ``name``.

    Raises:
        UnknownNameError: no such corpus (a KeyError); the message lists the registered ones.
    """
    try:
        return CORPORA[name]
    except KeyError:
        raise UnknownNameError(f"unknown corpus {name!r}; registered: {sorted(CORPORA)}") from None


__all__ = ["CORPORA", "CorpusAdapter", "CorpusNotFoundError", "build_manifest", "get_adapter", "read_manifest"]
