"""A user's mistakes and a machine's faults as Snakemake meets them: each ends in one line naming the file or key.

These runs need no corpus: each stops before the first step that would read one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from conftest import write_tone

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))  # the environment's, called by its full path


def run(work: Path, config: dict, *targets: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Snakemake on ``config`` (the quantization study unless it names ``studies``)."""
    (work / "my.yaml").write_text(yaml.safe_dump({"studies": ["quantization"], **config}))
    command = [SNAKEMAKE, "--snakefile", str(REPO / "workflow/Snakefile"), "--directory", str(work)]
    command += ["--configfile", str(work / "my.yaml"), "--cores", "1", *targets]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


def last_line(done: subprocess.CompletedProcess) -> str:
    return done.stderr.strip().splitlines()[-1]


def test_a_missing_data_root_stops_the_run_in_one_line_before_any_download(tmp_path):
    missing = tmp_path / "no" / "corpora"
    done = run(
        tmp_path, {"data_root": str(missing), "quantization": {"corpora": ["emodb"]}}, "results/manifests/emodb.csv"
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert last_line(done).startswith(f"data_root {missing}: no such folder; create it")
    assert "--config data_root=PATH" in last_line(done) and "config.yaml" not in last_line(done)
    assert not missing.exists() and not (tmp_path / "results/logs/download").exists()


def test_the_default_data_root_is_created_on_a_first_run_and_its_public_corpora_planned_for_download(tmp_path):
    done = run(tmp_path, {"quantization": {"corpora": ["emodb"]}}, "-n", "results/manifests/emodb.csv")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data").is_dir() and not list((tmp_path / "data").iterdir())
    assert "download_corpus" in done.stdout


def test_a_data_root_that_is_a_file_is_one_line(tmp_path):
    (tmp_path / "corpora.txt").write_text("not a folder")
    done = run(tmp_path, {"data_root": str(tmp_path / "corpora.txt"), "quantization": {"corpora": ["emodb"]}}, "-n")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert last_line(done).startswith(f"data_root {tmp_path / 'corpora.txt'}: a file, not a folder;")


def test_the_download_step_runs_the_suite_by_the_running_interpreter_not_path(tmp_path):
    (tmp_path / "data").mkdir()
    bare = {**os.environ, "PATH": "/usr/bin:/bin"}  # no serbench on PATH, as with the venv not activated
    done = run(
        tmp_path,
        {"data_root": str(tmp_path / "data"), "quantization": {"corpora": ["savee"]}},
        "results/manifests/savee.csv",
        env=bare,
    )
    log = (tmp_path / "results/logs/download/savee.log").read_text()
    assert done.returncode != 0 and "command not found" not in log
    assert "serbench download: error: " in log and "kahlan.eps.surrey.ac.uk/savee" in log


def test_a_file_added_or_removed_inside_a_corpus_sub_folder_rescans_that_corpus(emodb_copy, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    config = {"data_root": str(emodb_copy.parent), "quantization": {"corpora": ["emodb"]}}
    target = "results/manifests/emodb.csv"
    assert run(work, config, target).returncode == 0
    assert run(work, config, target, "-n").stdout.count("rule manifest") == 0
    (emodb_copy / "wav" / "03a01Wa.wav").unlink()  # the corpus folder's own time does not change
    planned = run(work, config, target, "-n")
    assert "emodb: 1 files removed since its manifest; to be rescanned" in planned.stderr
    assert run(work, config, target).returncode == 0
    assert len(pd.read_csv(work / target)) == 27 and run(work, config, target, "-n").stdout.count("rule manifest") == 0
    write_tone(emodb_copy / "wav" / "03a01Wa.wav")
    assert "emodb: 1 files added since its manifest; to be rescanned" in run(work, config, target, "-n").stderr


JOB = """
import sys, types
import numpy as np
from serbench.workflow import snakemake_job
job = types.SimpleNamespace(threads=1, log=[], output=[sys.argv[1]])
with snakemake_job({"snakemake": job}, "features"):
    import librosa  # after the job's cache folder is set, as every step imports it
    librosa.feature.chroma_stft(y=np.random.default_rng(0).normal(size=16000).astype(np.float32), sr=16000)
"""


def test_parallel_jobs_on_a_cold_numba_cache_each_compile_into_their_own_folder(tmp_path):
    import librosa

    shared = Path(librosa.__file__).parent
    before = {p: p.stat().st_mtime_ns for p in shared.rglob("*.nb[ci]")}
    outputs = [f"results/features/{corpus}.npz" for corpus in ("emodb", "tess")]
    jobs = [subprocess.Popen([sys.executable, "-c", JOB, output], cwd=tmp_path) for output in outputs]
    assert [job.wait(timeout=300) for job in jobs] == [0, 0]
    caches = sorted((tmp_path / ".snakemake" / "numba").iterdir())
    assert len(caches) == 2 and all(list(cache.rglob("*.nbi")) for cache in caches)
    assert {p: p.stat().st_mtime_ns for p in shared.rglob("*.nb[ci]")} == before  # the shared cache untouched
    compiled = {p: p.stat().st_mtime_ns for p in (tmp_path / ".snakemake").rglob("*.nb[ci]")}
    for output in outputs:  # the same job again loads what it compiled, and compiles nothing new
        assert subprocess.run([sys.executable, "-c", JOB, output], cwd=tmp_path, timeout=300).returncode == 0
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / ".snakemake").rglob("*.nb[ci]")} == compiled


def test_an_upstream_that_cannot_be_loaded_stops_the_run_before_any_job(emodb_copy, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    config = {
        "data_root": str(emodb_copy.parent),
        "quantization": {"corpora": ["emodb"]},
        "studies": ["distilhubert", "selfdistill"],
        "distilhubert": {"upstreams": ["nobody/no-such-encoder"]},
        "selfdistill": {"upstreams": [{"pretrained": str(tmp_path / "no-folder"), "layers": 4, "exit_layers": [1]}]},
    }
    offline = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = run(work, config, env=offline)
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert lines[-2].startswith("distilhubert.upstreams: 'nobody/no-such-encoder' is not in the Hugging Face cache")
    assert lines[-1].startswith(f"selfdistill.upstreams: speech encoder folder '{tmp_path / 'no-folder'}' not found")
    assert not (work / "results" / "logs").exists()  # no job ran
