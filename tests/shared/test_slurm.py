"""The feature-model study submitted through snakemake-executor-plugin-slurm to a real single-node Slurm.

Needs Debian's slurm-wlm and munge (``.ci/run`` installs them and sets
SERBENCH_SLURM=required, which turns a missing install into a failure) and
SERBENCH_DATA with an EmoDB copy. Deselect with ``pytest -m "not slurm"``.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import link_emodb_speakers, run_workflow
from slurm_cluster import missing_binaries, single_node_slurm

REPO = Path(__file__).resolve().parents[2]
DATA = os.environ.get("SERBENCH_DATA")
REQUIRED = os.environ.get("SERBENCH_SLURM") == "required"

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.e2e,
    pytest.mark.skipif(not DATA, reason="SERBENCH_DATA is unset: point it at a folder holding emodb/"),
]


def small_study(work: Path) -> Path:
    """EmoDB speakers 03, 08, 09, 10; MLP, random split, one seed, fp32 + fixed 2-bit + adaptive."""
    link_emodb_speakers(Path(DATA), work / "data", {"03", "08", "09", "10"})
    config = {
        "data_root": str(work / "data"),
        "studies": ["quantization"],
        "quantization": {
            "corpora": ["emodb"],
            "seeds": [0],
            "models": ["mlp"],
            "cross_corpus": [],
            "protocols": ["random"],
            "train": {"max_epochs": 3},
            "features": {"sets": ["mfcc_chroma_mel"]},
            "svm": {"enabled": False},
            "fixed_bits": [2],
            "curves": {"enabled": False},
        },
    }
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    return work / "config.yaml"


def snakemake(work: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_workflow(work, *extra, "all", timeout=1500)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    missing = missing_binaries()
    if missing:
        message = f"Slurm/munge not installed ({', '.join(missing)}): apt-get install slurm-wlm munge"
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    with single_node_slurm(tmp_path_factory.mktemp("slurm")) as info:
        yield info


def test_study_through_sbatch_equals_a_local_run(cluster, tmp_path):
    on_slurm, local = tmp_path / "slurm", tmp_path / "local"
    small_study(on_slurm), small_study(local)
    start = time.perf_counter()
    done = snakemake(
        on_slurm,
        "--workflow-profile",
        str(REPO / "workflow/profiles/slurm"),
        "--jobs",
        "2",
        "--slurm-status-command",
        "squeue",
        "--slurm-no-account",
        "--slurm-keep-successful-logs",
        "--slurm-init-seconds-before-status-checks",
        "1",
    )
    print(f"Slurm run: {time.perf_counter() - start:.0f} s wall")
    assert done.returncode == 0, (
        done.stdout[-3000:] + done.stderr[-3000:] + (cluster["folder"] / "slurmctld.log").read_text()[-2000:]
    )
    output = done.stdout + done.stderr
    submitted = dict(re.findall(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: (\S+)\)", output))
    scheduled = int(re.search(r"^total\s+(\d+)", output, flags=re.MULTILINE).group(1))
    assert len(submitted) == scheduled - 1 >= 6  # every job but the target rule `all` went through sbatch
    assert all(Path(log).is_file() for log in submitted.values())
    queue = subprocess.run(["squeue", "--states=all", "--noheader", "--format=%i|%T"], capture_output=True, text=True)
    states = dict(line.split("|") for line in queue.stdout.split())
    assert {states[job] for job in submitted} == {"COMPLETED"}  # Slurm's own records of those jobs

    done = snakemake(local, "--cores", "2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for table in ("quantization.csv", "quantization_runs.csv"):
        pd.testing.assert_frame_equal(
            pd.read_csv(on_slurm / "results/tables" / table), pd.read_csv(local / "results/tables" / table)
        )
