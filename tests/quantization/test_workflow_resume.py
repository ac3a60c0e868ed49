"""The quantization study's end-to-end run (conftest's ``quantization_run``, on the real EmoDB) interrupted and
damaged: a resumed run ends where an uninterrupted one did, and a damaged file names the command that rebuilds it.

Needs SERBENCH_DATA (see ``test_workflow_quantization.py``); skipped with that reason otherwise.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import pandas as pd
import pytest

from conftest import EMODB_E2E, link_corpora, quantization_config, run_to_end, run_workflow, workflow_command

pytestmark = EMODB_E2E


def test_interrupted_run_resumes_to_identical_tables(quantization_run, tmp_path):
    """SIGINT mid-training, restart: no half-written file, and the tables equal the uninterrupted run's."""
    link_corpora(tmp_path / "data")
    config = quantization_config(tmp_path / "config.yaml", tmp_path / "data")
    command = workflow_command(tmp_path, "--cores", "2", "all", configfile=config)
    # unbuffered: the job lines reach us as Snakemake prints them, not at its exit
    run = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    seen = []
    for line in run.stdout:  # the first quantize job has started: training is done for its cell, not for others
        seen.append(line)
        if line.strip() == "localrule quantization_quantize:":
            break
    time.sleep(0.5)  # the job is running
    os.killpg(run.pid, signal.SIGINT)  # as Ctrl-C in a terminal: Snakemake and its running jobs
    interrupted = "".join(seen) + run.communicate(timeout=300)[0]
    if run.returncode == 0:
        pytest.skip(f"the run finished before the interrupt reached it: {interrupted[-300:]}")
    assert not (tmp_path / "results/tables/quantization.csv").exists()
    hidden = [p for p in (tmp_path / "results").rglob(".*") if p.is_file() and p.name != ".snakemake_timestamp"]
    assert hidden == []  # no temporary file of ours left (Snakemake marks directory outputs with its timestamp)
    run_to_end(tmp_path, config, "all")
    for table in ("quantization.csv", "quantization_runs.csv"):
        pd.testing.assert_frame_equal(
            pd.read_csv(tmp_path / "results/tables" / table), pd.read_csv(quantization_run / "results/tables" / table)
        )


def test_a_damaged_file_names_a_rebuild_command_that_works_as_printed(quantization_run_copy):
    """It damages one cell's metrics file of a copy of the shared run, then runs the printed command."""
    work = quantization_run_copy
    metrics = work / "results/quantization/quantized/mfcc_chroma_mel/emodb/random/lstm/metrics.json"
    metrics.write_text(metrics.read_text()[:100])
    failed = run_workflow(work, "--cores", "2", "all", "--forcerun", "quantization_table", timeout=600)
    assert failed.returncode != 0
    hint = re.search(r"rebuild it with: (snakemake .*metrics\.json)", failed.stderr + failed.stdout).group(1)
    assert f"--configfile {work / 'config.yaml'}" in hint and f"--directory {work}" in hint
    rebuilt = subprocess.run(hint, shell=True, cwd="/", capture_output=True, text=True, timeout=900)
    assert rebuilt.returncode == 0, rebuilt.stderr[-3000:]
    assert "rule download_corpus" not in rebuilt.stdout + rebuilt.stderr
    assert len(json.loads(metrics.read_text())) > 0
    run_to_end(work, work / "config.yaml", "all")
