"""Checksum indexes of folder outputs, and the rebuild target of a damaged file inside one."""

from __future__ import annotations

import json
import os
import re

import pytest

from serbench.integrity import INDEX, damage, write_index
from serbench.step_files import DamagedFileError
from serbench.studies.quantization.packing import load_packed


@pytest.fixture
def cell(tmp_path):
    """A finished folder output: two model files, Snakemake's timestamp, our index."""
    cell = tmp_path / "models" / "mlp"
    for fold in ("fold0", "fold1"):
        (cell / fold).mkdir(parents=True)
        (cell / fold / "fp32.sbq").write_bytes(os.urandom(5000))
    (cell / ".snakemake_timestamp").touch()
    write_index(cell)
    return cell


def _rewrite(path, data: bytes) -> None:
    """Write ``data`` in place, one second later (file systems with coarse times would otherwise hide it)."""
    mtime = path.stat().st_mtime_ns
    path.write_bytes(data)
    os.utime(path, ns=(mtime + 10**9, mtime + 10**9))


def test_a_file_copied_back_unchanged_is_no_damage(cell):
    path = cell / "fold0" / "fp32.sbq"
    _rewrite(path, path.read_bytes())
    assert damage(cell) is None


def test_an_untouched_cell_is_intact_and_so_is_one_never_indexed(cell, tmp_path):
    assert damage(cell) is None and damage(tmp_path / "not" / "yet") is None and (cell / INDEX).exists()
    (cell / INDEX).unlink()
    assert damage(cell) is None


@pytest.mark.parametrize(
    "harm, found",
    [
        (lambda cell: os.truncate(cell / "fold1" / "fp32.sbq", 1000), "changed: fold1/fp32.sbq"),
        (lambda cell: _rewrite(cell / "fold1" / "fp32.sbq", os.urandom(5000)), "changed: fold1/fp32.sbq"),
        (lambda cell: (cell / "fold0" / "fp32.sbq").unlink(), "missing: fold0/fp32.sbq"),
        (lambda cell: (cell / "fold0" / "stray.sbq").write_bytes(b"x"), "not written by its job: fold0/stray.sbq"),
        (lambda cell: (cell / INDEX).write_text("{"), "unreadable checksums.json: "),
    ],
    ids=["truncated", "overwritten, same size", "removed", "added", "index damaged"],
)
def test_a_damaged_cell_says_what_is_damaged(cell, harm, found):
    harm(cell)
    assert damage(cell).startswith(found)


def test_a_damaged_file_inside_a_folder_output_names_the_folder_to_rebuild(cell):
    path = cell / "fold0" / "fp32.sbq"
    folder = re.escape(str(cell))
    with pytest.raises(
        DamagedFileError, match=rf"fp32\.sbq: damaged packed model .*; rebuild {folder}, which holds it, "
    ):
        load_packed(path)
    with pytest.raises(DamagedFileError, match=rf"--force {folder}$"):
        load_packed(path)


def test_damaged_cells_under_results_are_dated_back_and_intact_ones_kept(cell, tmp_path):
    from serbench.integrity import outdate_damaged

    intact_cell = tmp_path / "models" / "lstm"
    (intact_cell / "fold0").mkdir(parents=True)
    (intact_cell / "fold0" / "fp32.sbq").write_bytes(b"ok")
    write_index(intact_cell)
    os.truncate(cell / "fold1" / "fp32.sbq", 10)
    assert outdate_damaged(tmp_path) == [f"{cell}: damaged (changed: fold1/fp32.sbq); to be rebuilt"]
    assert (cell / ".snakemake_timestamp").stat().st_mtime == 0 and (cell / "fold1" / "fp32.sbq").exists()
    assert intact_cell.stat().st_mtime > 0


def test_a_manifest_whose_corpus_changed_is_dated_back(tmp_path):
    from serbench.atomic import write_json
    from serbench.integrity import listing, outdate_stale_manifests

    corpus, manifests = tmp_path / "data" / "emodb", tmp_path / "manifests"
    (corpus / "wav").mkdir(parents=True)
    (corpus / "wav" / "a.wav").write_bytes(b"a")
    manifests.mkdir()
    (manifests / "emodb.csv").write_text("utterance_id\na\n")
    write_json(manifests / "emodb.files.json", listing(corpus))
    assert outdate_stale_manifests(manifests, tmp_path / "data") == []
    (corpus / "wav" / "b.wav").write_bytes(b"b")
    assert outdate_stale_manifests(manifests, tmp_path / "data") == [
        "emodb: 1 files added since its manifest; to be rescanned"
    ]
    assert (manifests / "emodb.csv").stat().st_mtime == 0


def test_a_fresh_copy_of_the_same_corpus_files_rescans_nothing_and_a_changed_byte_does(tmp_path):
    """A re-mounted or restored copy: every time moves, no byte does; the listing takes the new times."""
    from serbench.atomic import write_json
    from serbench.integrity import listing, outdate_stale_manifests

    corpus, manifests = tmp_path / "data" / "emodb", tmp_path / "manifests"
    (corpus / "wav").mkdir(parents=True)
    for name in ("a", "b"):
        (corpus / "wav" / f"{name}.wav").write_bytes(name.encode() * 10)
    manifests.mkdir()
    (manifests / "emodb.csv").write_text("utterance_id\na\n")
    write_json(manifests / "emodb.files.json", listing(corpus))
    for path in (corpus / "wav").iterdir():
        os.utime(path, ns=(10**18, 10**18))
    assert outdate_stale_manifests(manifests, tmp_path / "data") == []
    assert (manifests / "emodb.csv").stat().st_mtime > 0
    recorded = json.loads((manifests / "emodb.files.json").read_text())
    assert {entry[1] for entry in recorded.values()} == {10**18}  # the next check is stat calls only
    (corpus / "wav" / "b.wav").write_bytes(b"c" * 10)  # same size, new bytes
    os.utime(corpus / "wav" / "b.wav", ns=(10**18, 10**18 + 1))
    assert outdate_stale_manifests(manifests, tmp_path / "data") == [
        "emodb: 1 files changed since its manifest; to be rescanned"
    ]


def test_a_listing_without_digests_gets_them_while_its_times_still_hold(tmp_path):
    from serbench.atomic import write_json
    from serbench.integrity import listing, listing_change

    (tmp_path / "emodb").mkdir()
    (tmp_path / "emodb" / "a.wav").write_bytes(b"a")
    older = {name: entry[:2] for name, entry in listing(tmp_path / "emodb").items()}  # [bytes, mtime_ns]
    write_json(tmp_path / "emodb.files.json", older)
    assert listing_change(tmp_path / "emodb", tmp_path / "emodb.files.json") is None
    assert json.loads((tmp_path / "emodb.files.json").read_text()) == listing(tmp_path / "emodb")


def test_an_unwritable_results_folder_is_named_before_any_job(tmp_path, monkeypatch):
    import errno
    import tempfile

    from serbench.workflow import results_problem

    assert results_problem(tmp_path / "results" / "deeper") is None  # not there yet: its parent is probed
    assert not list(tmp_path.iterdir())  # the probe leaves nothing

    def read_only(dir):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dir))

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    (tmp_path / "results").mkdir()
    assert results_problem(tmp_path / "results") == (
        f"{tmp_path / 'results'}: not writable (Read-only file system; results go to {tmp_path / 'results'}); "
        "make it writable or run elsewhere"
    )
