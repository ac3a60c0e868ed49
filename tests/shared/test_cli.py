import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from serbench import __version__
from serbench.cli import COMMANDS, main
from serbench.errors import InputError, UnknownNameError
from serbench.workflow import logged_cpu, snakemake_job


def test_help_lists_every_command_without_importing_any(capsys):
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from serbench.cli import _parser; _parser(); "
            "print(sorted(m for m in ('torch', 'pandas', 'transformers', 'librosa') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    usage = capsys.readouterr().out
    assert exited.value.code == 0 and all(name in usage for name in COMMANDS)
    assert "``" not in usage and ":mod:" not in usage  # plain text, not reStructuredText


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"serbench {__version__}"


def test_download_without_network_says_where_to_put_a_copy(tmp_path, capsys, monkeypatch):
    import pooch

    def offline(*args, **kwargs):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(pooch, "retrieve", offline)
    status = main(["download", "--corpus", "emodb", "--dest", str(tmp_path / "emodb")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert err[-1].startswith("serbench download: error: could not download emodb")
    assert "put a local copy of the corpus in" in err[-1]
    assert not (tmp_path / ".downloads").exists()  # no empty download folder left behind


def test_a_pinned_checksum_mismatch_names_the_archive_expected_and_actual_hash(tmp_path, capsys, monkeypatch):
    import pooch

    def fake(url, known_hash, fname, path, progressbar):
        Path(path).mkdir(parents=True, exist_ok=True)
        (Path(path) / fname).write_bytes(b"not the archive")

    monkeypatch.setattr(pooch, "retrieve", fake)
    status = main(["download", "--corpus", "ravdess", "--dest", str(tmp_path / "ravdess"), "--checksum", "md5:0123"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1
    expected = "md5:0123, got md5:" + hashlib.md5(b"not the archive").hexdigest()
    assert "ravdess.zip: checksum mismatch for ravdess" in err[0] and f"expected {expected}" in err[0]
    assert not (tmp_path / ".downloads").exists() and not (tmp_path / "ravdess").exists()


def test_a_licensed_corpus_says_where_it_is_obtained(tmp_path, capsys):
    assert main(["download", "--corpus", "savee", "--dest", str(tmp_path / "savee")]) == 2
    assert "kahlan.eps.surrey.ac.uk/savee" in capsys.readouterr().err


def test_a_step_s_known_failure_is_one_line_in_its_log_and_exit_status_2(tmp_path, capsys):
    from serbench.corpora.base import CorpusNotFoundError

    job = SimpleNamespace(threads=1, log=[str(tmp_path / "step.log")])
    with pytest.raises(SystemExit) as exited, snakemake_job({"snakemake": job}, "manifest"):
        raise CorpusNotFoundError("emodb: corpus folder /nowhere not found")
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip() == "serbench manifest: error: emodb: corpus folder /nowhere not found"
    assert (tmp_path / "step.log").read_text().strip().endswith("emodb: corpus folder /nowhere not found")


def test_a_finished_step_s_log_ends_with_the_job_s_cpu_seconds(tmp_path):
    log = tmp_path / "step.log"
    job = SimpleNamespace(threads=1, log=[str(log)], output=[])
    before = time.process_time()
    with snakemake_job({"snakemake": job}, "quantization_train"):
        while time.process_time() - before < 0.3:  # CPU the block itself burns
            sum(range(10_000))
    after = os.times()
    last = log.read_text().strip().splitlines()[-1]
    cpu, user, system = map(float, re.search(r"job CPU-s ([\d.]+) \(user ([\d.]+), system ([\d.]+)\)$", last).groups())
    assert cpu >= 0.3 and cpu == pytest.approx(user + system, abs=0.01)
    assert cpu <= after.user + after.system + after.children_user + after.children_system + 0.01
    assert logged_cpu(log) == cpu and logged_cpu(tmp_path / "no.log") is None


def test_a_file_not_found_inside_a_step_keeps_its_traceback_in_the_log_which_the_console_names(tmp_path, capsys):
    log = tmp_path / "step.log"
    job = SimpleNamespace(threads=1, log=[str(log)], output=[])
    with pytest.raises(FileNotFoundError), snakemake_job({"snakemake": job}, "quantization_train"):
        open(tmp_path / "fold_table_the_step_misnamed.csv")
    err = capsys.readouterr().err.strip()
    assert err.startswith("serbench quantization_train: unexpected FileNotFoundError: [Errno 2]")
    assert err.endswith(f"its traceback is in {log}")
    assert "Traceback (most recent call last)" in log.read_text() and "fold_table_the_step_misnamed" in log.read_text()


def test_a_full_disk_is_one_line_naming_the_output(tmp_path, capsys):
    import errno

    from serbench.atomic import atomic_path

    job = SimpleNamespace(threads=1, log=[str(tmp_path / "step.log")], output=[])
    out = tmp_path / "cell" / "fp32.sbq"
    with pytest.raises(SystemExit) as exited, snakemake_job({"snakemake": job}, "quantization_train"):
        with atomic_path(out):
            raise OSError(errno.ENOSPC, "No space left on device")
    assert exited.value.code == 2 and not out.exists() and list(out.parent.iterdir()) == []
    assert capsys.readouterr().err.strip() == (
        f"serbench quantization_train: error: {out}: cannot write (No space left on device); nothing of it was kept"
    )


def test_an_interrupted_step_is_one_line(tmp_path, capsys):
    job = SimpleNamespace(threads=1, log=[str(tmp_path / "step.log")], output=[])
    with pytest.raises(SystemExit) as exited, snakemake_job({"snakemake": job}, "quantization_quantize"):
        raise KeyboardInterrupt
    assert exited.value.code == 130 and capsys.readouterr().err.strip() == "serbench quantization_quantize: interrupted"


@pytest.mark.parametrize(
    "error, line",
    [
        (
            InputError("emodb/random.csv: fold 3 has no test utterances"),
            "emodb/random.csv: fold 3 has no test utterances",
        ),
        (UnknownNameError("unknown corpus 'emodbb'; registered: [...]"), "unknown corpus 'emodbb'; registered: [...]"),
    ],
)
def test_our_error_types_are_one_line(tmp_path, capsys, error, line):
    job = SimpleNamespace(threads=1, log=[str(tmp_path / "step.log")], output=[])
    with pytest.raises(SystemExit) as exited, snakemake_job({"snakemake": job}, "quantization_split"):
        raise error
    assert exited.value.code == 2 and capsys.readouterr().err.strip() == f"serbench quantization_split: error: {line}"


@pytest.mark.parametrize("bug", [KeyError("n_folds"), TypeError("unsupported operand"), ValueError("array shapes")])
def test_a_programming_error_keeps_its_traceback_instead_of_one_line(tmp_path, capsys, bug):
    job = SimpleNamespace(threads=1, log=[str(tmp_path / "step.log")], output=[])
    with pytest.raises(type(bug)), snakemake_job({"snakemake": job}, "quantization_train"):
        raise bug
    assert "error:" not in capsys.readouterr().err


def test_an_unknown_corpus_on_the_command_line_is_one_line(tmp_path, capsys):
    assert main(["download", "--corpus", "emodbb", "--dest", str(tmp_path / "x")]) == 2
    assert capsys.readouterr().err.strip().startswith("serbench download: error: unknown corpus 'emodbb'; registered:")


def test_the_report_command_carries_the_recorded_runs_config_files_and_values(tmp_path):
    from serbench.run_record import record_run, report_command

    with pytest.raises(InputError, match=r"results/run.json: no run recorded; run the workflow first"):
        report_command(tmp_path / "results", "report.html")
    (tmp_path / "config").mkdir()
    record_run(
        "results", tmp_path / "workflow/Snakefile", tmp_path, ["config.yaml", "config/quick.yaml"], ["data_root=/d x"]
    )
    command = report_command(tmp_path / "results", tmp_path / "report.html")
    assert command[1:] == [
        "-m",
        "snakemake",
        "--snakefile",
        str(tmp_path / "workflow/Snakefile"),
        "--directory",
        str(tmp_path),
        "--configfile",
        str(tmp_path / "config.yaml"),
        str(tmp_path / "config/quick.yaml"),
        "--config",
        "data_root=/d x",
        "--report",
        str(tmp_path / "report.html"),
    ]
