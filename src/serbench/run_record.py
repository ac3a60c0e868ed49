"""The last run's command line, kept beside its results, so that its report is built as the run was configured.

Snakemake's HTML report walks the DAG of the configuration it is given: without the run's own ``--configfile`` and
``--config`` values it plans the default grid and stops at the first output that run never made. A run records
its configuration in ``<results>/run.json`` when its jobs start (the Snakefile's ``onstart``); ``serbench report``
reads it and calls Snakemake's ``--report`` with the same flags.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from serbench.atomic import write_json
from serbench.errors import InputError
from serbench.workflow import snakemake_arguments

RUN_FILE = "run.json"


def record_run(
    results: str | Path, snakefile: str | Path, directory: str | Path, configfiles: list, config_args: list[str]
) -> None:
    """Write ``<results>/run.json``: the Snakemake arguments of the run now starting
    (:func:`serbench.workflow.snakemake_arguments`, paths absolute)."""
    folder = Path(directory).resolve()
    arguments = snakemake_arguments(
        Path(snakefile).resolve(), folder, [(folder / f).resolve() for f in configfiles], list(config_args)
    )
    write_json(folder / results / RUN_FILE, {"arguments": arguments})


def report_command(results: str | Path, out: str | Path) -> list[str]:
    """The Snakemake command that writes the HTML report ``out`` of the run recorded under ``results``.

    Raises:
        InputError: no run recorded there (no run has started jobs in that folder).
    """
    path = Path(results) / RUN_FILE
    if not path.is_file():
        raise InputError(f"{path}: no run recorded; run the workflow first (its report covers that run's outputs)")
    return [sys.executable, "-m", *json.loads(path.read_text())["arguments"], "--report", str(Path(out).resolve())]


def report(out: str = "report.html", results: str = "results") -> int:
    """``serbench report``: Snakemake's HTML report of the last run under ``results``, written to ``out``; the
    exit status of Snakemake."""
    command = report_command(results, out)
    print(" ".join(command[2:]), file=sys.stderr)
    return subprocess.run(command, check=False).returncode
