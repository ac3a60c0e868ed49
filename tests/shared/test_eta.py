"""The console's time left: Snakemake's own lines, and after each progress line an estimate
(snakemake_logger_plugin_serbench.eta)."""

import json
import re
import subprocess

from snakemake_logger_plugin_serbench.eta import earlier_durations

SNAKEFILE = """
rule all:
    input: expand("out/{i}.txt", i=range(3)), "out/table.txt"

rule slow:
    output: "out/{i}.txt"
    shell: "sleep 1; touch {output}"

rule table:
    input: expand("out/{i}.txt", i=range(3))
    output: "out/table.txt"
    shell: "touch {output}"
"""


def run(tmp_path, *extra):
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    done = subprocess.run(["snakemake", "--cores", "1", *extra], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    (tmp_path / "out" / "table.txt").unlink()
    return [line for line in done.stderr.splitlines() if "Date:" not in line and "Workflow ID" not in line]


def test_each_progress_line_but_the_last_is_followed_by_the_time_left(tmp_path):
    lines = run(tmp_path, "--logger", "serbench")
    progress = [i for i, line in enumerate(lines) if re.fullmatch(r"\d+ of 5 steps \(\d+%\) done", line)]
    assert [lines[i].split(" of ")[0] for i in progress] == ["1", "2", "3", "4", "5"]  # 3 slow, table, all
    after = [lines[i + 1] for i in progress[:-1]]
    assert all(line.endswith("left (from the jobs finished so far, by rule)") for line in after)
    assert "left" not in lines[progress[-1] + 1]  # nothing left to estimate once every step is done
    for path in tmp_path.glob("out/*"):
        path.unlink()
    plain = run(tmp_path)
    estimates = [line for line in lines if line.endswith("by rule)")]
    assert len(lines) - len(estimates) == len(plain)  # otherwise Snakemake's own console, line for line


def test_a_resumed_run_knows_each_rules_cost_from_snakemakes_records_of_earlier_jobs(tmp_path):
    run(tmp_path, "--logger", "serbench")
    durations = earlier_durations(tmp_path / ".snakemake" / "metadata")
    assert len(durations["slow"]) == 3 and all(1.0 <= d < 30 for d in durations["slow"])  # each job sleeps 1 s
    assert len(durations["table"]) == 1 and durations["table"][0] < 1.0


def test_a_jobs_outputs_count_once_and_unreadable_or_unfinished_records_are_left_out(tmp_path):
    records = {
        "a": {"rule": "train", "job_hash": 1, "starttime": 10.0, "endtime": 40.0},
        "b": {"rule": "train", "job_hash": 1, "starttime": 10.1, "endtime": 40.0},  # the same job's second output
        "c": {"rule": "train", "job_hash": 2, "starttime": 50.0, "endtime": 60.0},
        "d": {"rule": "train", "job_hash": 3, "starttime": 70.0, "endtime": None, "incomplete": True},
        "e": {"rule": "table", "job_hash": 4},
    }
    for name, record in records.items():
        (tmp_path / name).write_text(json.dumps(record))
    (tmp_path / "f").write_text("{not json")
    assert earlier_durations(tmp_path) == {"train": [30.0, 10.0]}
    assert earlier_durations(tmp_path / "absent") == {}
