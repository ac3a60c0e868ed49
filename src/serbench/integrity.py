"""Checksums of a job's folder outputs (the cells of trained and packed models), so that a damaged file is noticed;
listings of corpus folders, so that a changed corpus is.

Snakemake sees a folder output (``directory()``) as one thing: a truncated model file inside it leaves the folder
"up to date", and a rebuild must name the folder, not the file. Each finished job writes :data:`INDEX` into each
of its folder outputs: the size, modification time and SHA-256 of every file in it. At DAG time :func:`damage`
compares them (:func:`outdate_damaged`: the workflow dates a damaged folder back, saying so, and Snakemake
rebuilds it), hashing only a file whose time differs (a copy, or a write in place), so that a check of unchanged
fine-tuned encoders costs stat calls. :func:`rebuild_target` gives the output Snakemake can rebuild for any file
inside one.

Snakemake sees a corpus folder by its own time only, which a file added, removed or replaced in a sub-folder
(``ravdess/Actor_02/``) leaves alone, and which a fresh copy of the same files (a restore, a re-mounted share, a copy
without times) moves although nothing changed; the manifest rule reads the folder as ``ancient``, so this check is
its one trigger. The manifest step records the corpus's :func:`listing` (paths, sizes, modification times,
SHA-256); :func:`listing_change` says what differs, hashing only a file whose time moved, and
:func:`outdate_stale_manifests` dates that corpus's manifest back, so that the workflow rebuilds it and what reads
it. Files of a new time but the same bytes change nothing: their times are written into the listing, so the next
check costs stat calls again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from serbench.atomic import write_json

INDEX = "checksums.json"
TIMESTAMP = ".snakemake_timestamp"  # Snakemake's mark in every folder output it has finished


def _files(folder: Path) -> dict[str, Path]:
    files = (p for p in folder.rglob("*") if p.is_file() and p.name not in (INDEX, TIMESTAMP))
    return {str(p.relative_to(folder)): p for p in files}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_index(folder: str | Path) -> None:
    """Record ``[bytes, mtime_ns, sha256]`` of every file under ``folder`` in ``folder/checksums.json``."""
    entries = {}
    for name, path in sorted(_files(Path(folder)).items()):
        stat = path.stat()
        entries[name] = [stat.st_size, stat.st_mtime_ns, _sha256(path)]
    write_json(Path(folder) / INDEX, entries)


def _unchanged(path: Path, size: int, mtime_ns: int, sha256: str | None = None) -> bool:
    """Same size, and the same time or (where a digest is recorded) the same bytes."""
    stat = path.stat()
    return stat.st_size == size and (stat.st_mtime_ns == mtime_ns or (sha256 is not None and _sha256(path) == sha256))


def damage(folder: str | Path) -> str | None:
    """What differs in ``folder`` from its index (files missing, added or changed), or ``None`` when nothing does.

    A folder that does not exist yet, or has no index (written before indexes were kept), has none;
    an unreadable index is damage.
    """
    index = Path(folder) / INDEX
    if not Path(folder).is_dir() or not index.exists():
        return None
    try:
        recorded = json.loads(index.read_text())
    except (OSError, ValueError) as err:
        return f"unreadable {INDEX}: {err}"
    current = _files(Path(folder))
    changed = sorted(
        name for name in recorded.keys() & current.keys() if not _unchanged(current[name], *recorded[name])
    )
    for what, names in (("missing", recorded.keys() - current.keys()), ("changed", changed)):
        if names:
            return f"{what}: {', '.join(sorted(names)[:3])}" + (" ..." if len(names) > 3 else "")
    added = sorted(current.keys() - recorded.keys())
    return f"not written by its job: {', '.join(added[:3])}" + (" ..." if len(added) > 3 else "") if added else None


def _walk(folder: str | Path) -> dict[str, Path]:
    """Every file under ``folder`` by its path relative to it, symbolic links followed."""
    found = {}
    for parent, _, names in os.walk(folder, followlinks=True):
        for name in names:
            found[os.path.relpath(os.path.join(parent, name), folder)] = Path(parent, name)
    return found


def listing(folder: str | Path) -> dict[str, list]:
    """``{path relative to folder: [bytes, mtime_ns, sha256]}`` of every file under ``folder``, symbolic links
    followed."""
    entries = {}
    for name, path in _walk(folder).items():
        stat = path.stat()
        entries[name] = [stat.st_size, stat.st_mtime_ns, _sha256(path)]
    return entries


def listing_change(folder: str | Path, recorded: str | Path) -> str | None:
    """What differs between ``folder`` now and the :func:`listing` saved as JSON in ``recorded``, or ``None``.

    ``None`` too when either is missing (nothing scanned yet, or a corpus still to be downloaded), and when only
    times moved on files of the recorded bytes: their new times are written into ``recorded``. A file recorded
    without a digest (a listing of an older serbench) counts as changed when its time moved, and gets its digest
    recorded when it did not.
    """
    if not Path(folder).is_dir() or not Path(recorded).exists():
        return None
    try:
        before = json.loads(Path(recorded).read_text())
    except (OSError, ValueError) as err:
        return f"unreadable {recorded}: {err}"
    now = _walk(folder)
    kept = now.keys() & before.keys()
    counts = {
        "added": len(now.keys() - before.keys()),
        "removed": len(before.keys() - now.keys()),
        "changed": sum(not _unchanged(now[name], *before[name]) for name in kept),
    }
    if any(counts.values()):
        return ", ".join(f"{n} files {what}" for what, n in counts.items() if n)
    stale = {name for name in kept if now[name].stat().st_mtime_ns != before[name][1] or len(before[name]) < 3}
    if stale:  # same bytes under a new time, or no digest yet: recorded now, so the next check is stat calls
        fresh = {name: [now[name].stat().st_size, now[name].stat().st_mtime_ns, _sha256(now[name])] for name in stale}
        write_json(recorded, before | fresh)
    return None


def outdate(path: Path) -> None:
    """Give ``path`` (a file, or a folder output's Snakemake timestamp) the time 0, so that Snakemake sees it older
    than its inputs and reruns the job that writes it, in a dry run as in a run; nothing is removed."""
    stamp = path / TIMESTAMP if (path / TIMESTAMP).exists() else path
    os.utime(stamp, ns=(0, 0))


def outdate_damaged(results: str | Path) -> list[str]:
    """:func:`outdate` every folder output under ``results`` whose files no longer match its index.

    Called when the workflow is parsed, before Snakemake looks at any output. Returns a line per folder, saying
    what was damaged.
    """
    lines = []
    for index in sorted(Path(results).rglob(INDEX)) if Path(results).is_dir() else []:
        problem = damage(index.parent)
        if problem:
            outdate(index.parent)
            lines.append(f"{index.parent}: damaged ({problem}); to be rebuilt")
    return lines


def outdate_stale_manifests(manifests: str | Path, data_root: str | Path) -> list[str]:
    """:func:`outdate` every manifest under ``manifests`` whose corpus under ``data_root`` changed since its scan.

    A manifest ``<corpus>.csv`` has its corpus's listing beside it (``<corpus>.files.json``). Called when the
    workflow is parsed, as :func:`outdate_damaged`. Returns a line per manifest, saying what changed.
    """
    lines = []
    for recorded in sorted(Path(manifests).glob("*.files.json")) if Path(manifests).is_dir() else []:
        corpus = recorded.name.removesuffix(".files.json")
        change = listing_change(Path(data_root) / corpus, recorded)
        manifest = recorded.with_name(f"{corpus}.csv")
        if change and manifest.exists():
            outdate(manifest)
            lines.append(f"{corpus}: {change} since its manifest; to be rescanned")
    return lines


def rebuild_target(path: str | Path) -> Path:
    """What Snakemake rebuilds for ``path``: the nearest folder output holding it, or ``path`` itself.

    >>> rebuild_target("results/features/emodb.npz")
    PosixPath('results/features/emodb.npz')
    """
    for parent in Path(path).parents:
        if (parent / TIMESTAMP).exists():
            return parent
    return Path(path)
