"""Checksum indexes of folder outputs, and the rebuild target of a damaged file inside one."""

from __future__ import annotations

import os
import re

import pytest

from serbench.cache import DamagedFileError
from serbench.integrity import INDEX, intact, write_index
from serbench.quantization.packing import load_packed


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


def test_an_untouched_cell_is_intact_and_so_is_one_never_indexed(cell, tmp_path):
    assert intact(cell) and intact(tmp_path / "not" / "yet") and (cell / INDEX).exists()
    (cell / INDEX).unlink()
    assert intact(cell)


@pytest.mark.parametrize(
    "damage",
    [
        lambda cell: os.truncate(cell / "fold1" / "fp32.sbq", 1000),
        lambda cell: (cell / "fold1" / "fp32.sbq").write_bytes(os.urandom(5000)),  # same size, other bytes
        lambda cell: (cell / "fold0" / "fp32.sbq").unlink(),
        lambda cell: (cell / "fold0" / "stray.sbq").write_bytes(b"x"),
        lambda cell: (cell / INDEX).write_text("{"),
    ],
    ids=["truncated", "overwritten", "removed", "added", "index damaged"],
)
def test_a_damaged_cell_is_not_intact(cell, damage):
    damage(cell)
    assert not intact(cell)


def test_a_damaged_file_inside_a_folder_output_names_the_folder_to_rebuild(cell):
    path = cell / "fold0" / "fp32.sbq"
    folder = re.escape(str(cell))
    with pytest.raises(
        DamagedFileError, match=rf"fp32\.sbq: damaged packed model .*; rebuild {folder}, which holds it, "
    ):
        load_packed(path)
    with pytest.raises(DamagedFileError, match=rf"--force {folder}$"):
        load_packed(path)
