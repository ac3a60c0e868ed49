"""How many jobs Snakemake may run at once: the rules' threads and mem_mb, read from a dry run of every study with
full-size settings (config.yaml), so that ``--cores N`` never runs several encoder jobs on the same cores; and which
rules ask Slurm for a GPU under each ``device``."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ENCODER_RULES = {"distilhubert_train", "distilhubert_int8", "selfdistill_train", "selfdistill_int8"}
# the rules whose steps run torch models (training, QAT, scoring, traces, encoders); the others, int8 and latency
# among them, measure on the CPU
TORCH_RULES = {
    *("quantization_train", "quantization_quantize", "quantization_allocators"),
    *("distilhubert_embeddings", "distilhubert_train", "selfdistill_states", "selfdistill_train"),
}
FINE_TUNING_RULES = {"distilhubert_train", "selfdistill_train"}


def planned_jobs(work: Path, cores: int, mem_mb: int, *config: str) -> list[dict]:
    """Each job of the dry run: its rule, threads (as Snakemake caps them to ``cores``), mem_mb and gpu."""
    command = ["snakemake", "--snakefile", str(REPO / "workflow" / "Snakefile"), "--directory", str(work)]
    command += [
        "--configfile",
        str(REPO / "config.yaml"),
        "--config",
        "studies=[quantization,distilhubert,selfdistill]",
        *config,
    ]
    command += [f"data_root={work / 'data'}", "--dry-run", "--cores", str(cores), "--resources", f"mem_mb={mem_mb}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    jobs = []
    for block in re.split(r"\n(?=rule \w+:)", output)[1:]:
        threads = re.search(r"\n\s+threads: (\d+)", block)
        mem = re.search(r"\bmem_mb=(\d+)", block)
        gpu = re.search(r"\bgpu=(\d+)", block)
        jobs.append(
            {
                "rule": block[5 : block.index(":")],
                "threads": int(threads.group(1)) if threads else 1,
                "mem_mb": int(mem.group(1)) if mem else 0,
                "gpu": int(gpu.group(1)) if gpu else 0,
            }
        )
    return jobs


@pytest.mark.parametrize("cores, mem_mb", [(8, 16000), (2, 24000)])
def test_encoder_jobs_run_one_at_a_time_on_every_core_and_no_job_asks_beyond_the_machine(tmp_path, cores, mem_mb):
    jobs = planned_jobs(tmp_path, cores, mem_mb)
    assert ENCODER_RULES <= {job["rule"] for job in jobs}
    assert all(job["threads"] <= cores and job["mem_mb"] <= mem_mb for job in jobs)
    for job in (j for j in jobs if j["rule"] in ENCODER_RULES):
        at_once = min(cores // job["threads"], mem_mb // job["mem_mb"])
        assert (job["threads"], at_once) == (cores, 1), job
    light = [j for j in jobs if j["rule"] in {"quantization_train", "quantization_quantize", "quantization_svm"}]
    assert light and all(min(cores // j["threads"], mem_mb // j["mem_mb"]) >= 2 for j in light)


@pytest.mark.parametrize("device, finetune", [("cpu", True), ("cuda", False), ("auto", True), ("auto", False)])
def test_rules_ask_for_a_gpu_exactly_where_their_step_would_use_one(tmp_path, device, finetune):
    flags = [f"device={device}", f"distilhubert={{'finetune': {finetune}}}", f"selfdistill={{'finetune': {finetune}}}"]
    jobs = planned_jobs(tmp_path, 8, 64000, *flags)
    planned = {job["rule"] for job in jobs}
    expected = {"cpu": set(), "cuda": TORCH_RULES, "auto": FINE_TUNING_RULES if finetune else set()}[device]
    assert {job["rule"] for job in jobs if job["gpu"]} == expected & planned
    assert (FINE_TUNING_RULES | {"quantization_train"}) <= planned  # the check covers the rules that matter
