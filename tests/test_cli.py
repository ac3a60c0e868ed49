import subprocess
import sys
from types import SimpleNamespace

import pytest

from serbench import __version__
from serbench.cli import COMMANDS, main
from serbench.workflow import snakemake_job


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


def test_a_step_s_known_failure_is_one_line_in_its_log_and_exit_status_2(tmp_path, capsys):
    job = SimpleNamespace(threads=1, log=[str(tmp_path / "step.log")])
    with pytest.raises(SystemExit) as exited, snakemake_job({"snakemake": job}, "manifest"):
        raise FileNotFoundError("emodb: corpus folder /nowhere not found")
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip() == "serbench manifest: error: emodb: corpus folder /nowhere not found"
    assert (tmp_path / "step.log").read_text().strip().endswith("emodb: corpus folder /nowhere not found")
