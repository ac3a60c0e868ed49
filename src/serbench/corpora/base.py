"""The corpus-adapter contract and the manifest it produces.

A manifest (one CSV per corpus, as SpeechBrain's data manifests) is the
contract between data preparation and everything after it: one row per usable
utterance with the columns in :data:`MANIFEST_COLUMNS`. An adapter only says
where a corpus keeps its audio and how a file name encodes speaker and label;
:func:`build_manifest` does the rest for every corpus alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from serbench.audio import AUDIO_EXTENSIONS, AudioError, probe_audio
from serbench.errors import InputError, SerbenchError
from serbench.labels import CANONICAL_EMOTIONS

log = logging.getLogger(__name__)

MANIFEST_COLUMNS: tuple[str, ...] = (
    "utterance_id",
    "path",
    "speaker",
    "gender",
    "native_label",
    "emotion",
    "session",
    "duration_s",
    "sample_rate",
)


class CorpusNotFoundError(SerbenchError, FileNotFoundError):
    """The configured corpus folder does not exist or holds no audio."""


class LabelError(InputError):
    """A file name that does not follow the corpus's naming convention."""


@dataclass(frozen=True)
class Labelled:
    """What an adapter reads of one utterance.

    ``session`` groups speakers recorded together (IEMOCAP's five sessions);
    empty for corpora without sessions, where the manifest repeats the speaker.
    """

    utterance_id: str
    speaker: str
    gender: str
    native_label: str
    emotion: str
    session: str = ""


@dataclass(frozen=True)
class Download:
    """Where the official distribution of a corpus lives (its checksum is pinned in config: ``download_checksums``)
    and its terms of use, logged with every download."""

    url: str
    license_note: str


@dataclass(frozen=True)
class CorpusAdapter:
    """How one corpus is laid out and labelled.

    Attributes:
        name: registry key (``"emodb"``).
        audio_glob: pattern, relative to the corpus root, of its audio files
            (``"wav/*"``; ``"**/*"`` searches every sub-folder); only names
            with an audio extension count.
        parse: reads a file name into :class:`Labelled`; raises
            :class:`LabelError` with the reason for a name it cannot read.
        download: the official distribution, or ``None`` for licensed corpora
            that only a local copy can provide.
        label_files: for corpora labelled in separate files (IEMOCAP), reads
            them under the corpus root into ``utterance id -> Labelled``;
            ``parse`` is then unused.
        obtain: where a licensed corpus (no ``download``) is obtained.
    """

    name: str
    audio_glob: str
    parse: Callable[[Path], Labelled] | None
    download: Download | None
    label_files: Callable[[Path], dict[str, Labelled]] | None = None
    obtain: str = ""


def audio_files(adapter: CorpusAdapter, root: str | Path) -> list[Path]:
    """All audio files of a corpus copy, sorted.

    Raises:
        CorpusNotFoundError: ``root`` is missing.
    """
    folder = Path(root)
    if not folder.is_dir():
        raise CorpusNotFoundError(
            f"{adapter.name}: corpus folder {folder} not found; put a copy of the official "
            f"distribution there or set data_root (--config data_root=PATH or your --configfile) to the folder "
            f"holding '{adapter.name}/'"
        )
    return sorted(p for p in folder.glob(adapter.audio_glob) if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())


def build_manifest(adapter: CorpusAdapter, root: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scan a corpus copy into a manifest.

    Every audio file is labelled from its name and decoded in full. A file
    with an unreadable name or unusable audio (empty, truncated, NaN or Inf
    samples, digital silence, shorter than 0.1 s) is reported (logged and listed in the second
    table) and left out; a suspect one is kept and flagged there; the scan goes on.

    Returns:
        ``(manifest, skipped)``: the manifest with :data:`MANIFEST_COLUMNS`,
        sorted by utterance id; ``skipped`` with columns ``path, action, reason``: files left out
        (``skipped``) and files kept with something worth a look (``flagged``).

    Raises:
        CorpusNotFoundError: the folder is missing or holds no usable audio.
        ValueError: two files map to one utterance id.
    """
    rows, skipped = [], []
    files = audio_files(adapter, root)
    parse = _index_lookup(adapter.label_files(Path(root))) if adapter.label_files else adapter.parse
    for path in files:
        try:
            labelled = parse(path)
            if labelled.emotion not in CANONICAL_EMOTIONS:
                raise LabelError(f"emotion {labelled.emotion!r} is not canonical")
            info = probe_audio(path)
        except (LabelError, AudioError) as err:
            reason = err.reason if isinstance(err, AudioError) else str(err)
            log.warning("skipped %s: %s", path, reason)
            skipped.append({"path": str(path), "action": "skipped", "reason": reason})
            continue
        if info.flag:
            log.warning("flagged %s: %s", path, info.flag)
            skipped.append({"path": str(path), "action": "flagged", "reason": info.flag})
        rows.append(
            {
                **labelled.__dict__,
                "session": labelled.session or labelled.speaker,
                "path": str(path.resolve()),
                "duration_s": round(info.duration_s, 6),
                "sample_rate": info.sample_rate,
            }
        )
    if not rows:
        raise CorpusNotFoundError(f"{adapter.name}: no usable audio matching {adapter.audio_glob!r} under {root}")
    manifest = pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS)).sort_values("utterance_id", ignore_index=True)
    duplicated = manifest["utterance_id"][manifest["utterance_id"].duplicated()]
    if not duplicated.empty:
        raise ValueError(f"{adapter.name}: utterance ids occur twice: {sorted(set(duplicated))[:5]}")
    log.info("%s: %d utterances, %d skipped or flagged", adapter.name, len(manifest), len(skipped))
    return manifest, pd.DataFrame(skipped, columns=["path", "action", "reason"])


def left_out(manifest: pd.DataFrame, kept_ids: list[str], step: str) -> str | None:
    """The console line for manifest rows a later step could not read (files changed since the scan), or ``None``.

    >>> manifest = pd.DataFrame({"utterance_id": ["a", "b", "c"], "path": ["/d/a.wav", "/d/b.wav", "/d/c.wav"]})
    >>> left_out(manifest, ["a"], "features")
    'features: 2 of 3 manifest files left out, unreadable since the corpus scan (see the log): /d/b.wav, /d/c.wav'
    """
    lost = manifest.loc[~manifest["utterance_id"].isin(kept_ids), "path"].tolist()
    if not lost:
        return None
    shown = ", ".join(lost[:3]) + (" ..." if len(lost) > 3 else "")
    return (
        f"{step}: {len(lost)} of {len(manifest)} manifest files left out, unreadable since the corpus scan "
        f"(see the log): {shown}"
    )


def _index_lookup(index: dict[str, Labelled]) -> Callable[[Path], Labelled]:
    def lookup(path: Path) -> Labelled:
        if path.stem not in index:
            raise LabelError(f"{path.stem} has no label in the corpus's label files")
        return index[path.stem]

    return lookup


def read_manifest(path: str | Path) -> pd.DataFrame:
    """Read a manifest CSV written by :func:`build_manifest`.

    Raises:
        ValueError: a column of :data:`MANIFEST_COLUMNS` is missing.
    """
    manifest = pd.read_csv(path, dtype={"speaker": str, "utterance_id": str, "session": str})
    missing = set(MANIFEST_COLUMNS) - set(manifest.columns)
    if missing:
        raise ValueError(f"{path}: not a serbench manifest, missing columns {sorted(missing)}")
    return manifest
