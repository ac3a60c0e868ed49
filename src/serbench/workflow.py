"""How a workflow step runs: Snakemake ``script:`` adapters, and the same scripts run stand-alone.

Every rule's script (``workflow/scripts/<study>/<step>.py``) opens
:func:`snakemake_job`, imports its step inside the block (so a job imports
only what its step needs) and calls it with the rule's inputs, outputs and
settings. The block logs to the rule's log file (ending with the job's CPU seconds), caps the job's CPU threads,
gives it a numba cache folder of its own, turns a known failure (bad input,
missing corpus, damaged cache) into one ``serbench <rule>: error: ...`` line
and exit status 2, never a traceback, and indexes the files of the job's
folder outputs (:mod:`serbench.integrity`).

Run stand-alone (``python workflow/scripts/quantization/train.py``), a script
gets the Snakemake object of its rule from :func:`mock_snakemake`, built from
the repository's Snakefile and config for the wildcards the script names, as
pypsa-eur's scripts do.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from serbench.errors import EXPECTED_FAILURES
from serbench.integrity import write_index
from serbench.step_files import REBUILD_VARIABLE

REPOSITORY = Path(__file__).resolve().parents[2]
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")
NUMBA_CACHES = Path(".snakemake") / "numba"  # under the run's folder: one cache folder per job
CPU_LINE = re.compile(r"job CPU-s ([\d.]+) \(user")  # what :func:`cpu_line` writes


@contextmanager
def snakemake_job(scope: dict, rule: str, **wildcards: str) -> Iterator[Any]:
    """The Snakemake object of the running job, with logging, thread caps and one-line errors around its step.

    Args:
        scope: the script's ``globals()``: Snakemake puts its ``snakemake`` object there.
        rule: the rule's name, for stand-alone runs and error messages.
        wildcards: a stand-alone run's wildcards (ignored under Snakemake).

    Yields:
        The ``snakemake`` object (``input``, ``output``, ``params``, ``wildcards``, ``threads``, ``log``).
    """
    job = scope.get("snakemake") or mock_snakemake(rule, **wildcards)
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(job.threads)
    os.environ["NUMBA_CACHE_DIR"] = str(numba_cache(rule, getattr(job, "output", [])))
    handlers = [logging.FileHandler(job.log[0])] if job.log else [logging.StreamHandler()]
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", handlers=handlers, force=True
    )
    try:
        yield job
        for path in job.output:
            if os.path.isdir(path):
                write_index(path)
        logging.getLogger(rule).info("%s", cpu_line())
    except EXPECTED_FAILURES as err:
        logging.getLogger(rule).error("%s", err)
        print(f"serbench {rule}: error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:  # Ctrl-C reaches every job of the run: one line each, Snakemake reports the rest
        logging.getLogger(rule).error("interrupted")
        print(f"serbench {rule}: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as err:
        logging.getLogger(rule).exception("unexpected %s", type(err).__name__)
        where = f"; its traceback is in {job.log[0]}" if job.log else ""
        print(f"serbench {rule}: unexpected {type(err).__name__}: {err}{where}", file=sys.stderr)
        raise


def cpu_line() -> str:
    """The job's CPU seconds so far, this process and its finished children (:func:`os.times`), as the line that
    ends a finished job's log: ``job CPU-s 12.34 (user 11.20, system 1.14)``. Snakemake's benchmark files sample a
    job's CPU every 30 s after its first 15 s and keep the last sample, so they miss up to 30 s of every longer
    job; this line is the whole job but the interpreter's exit (``tests/benchmarks/grid_cost.py`` reads it).

    >>> cpu_line().startswith("job CPU-s ")
    True
    """
    times = os.times()
    user, system = times.user + times.children_user, times.system + times.children_system
    return f"job CPU-s {user + system:.2f} (user {user:.2f}, system {system:.2f})"


def logged_cpu(log: str | os.PathLike) -> float | None:
    """The CPU seconds of the last :func:`cpu_line` in the log file ``log``; None without one (a job that failed,
    or ran before the line was written) or without the file.

    >>> logged_cpu("/nonexistent.log") is None
    True
    """
    path = Path(log)
    found = CPU_LINE.findall(path.read_text(errors="replace")) if path.is_file() else []
    return float(found[-1]) if found else None


def job_corpora(job: Any, caches: str = "features") -> dict:
    """The corpora a job reads, by name: ``params.corpora`` with their ``input.manifests`` and per-utterance caches
    (``input.<caches>``), as :class:`serbench.dataset.CorpusFiles`."""
    from serbench.dataset import CorpusFiles

    files = zip(job.params.corpora, job.input.manifests, getattr(job.input, caches))
    return {corpus: CorpusFiles(manifest, cache) for corpus, manifest, cache in files}


def job_run(job: Any, keys: tuple[str, ...] = ("dataset", "features", "protocol", "model")) -> dict[str, str]:
    """The wildcards a job's run records carry (a quantization cell's by default)."""
    return {key: getattr(job.wildcards, key) for key in keys}


def numba_cache(rule: str, outputs: list[str]) -> Path:
    """The job's own numba cache folder, ``.snakemake/numba/<rule>-<digest of its outputs>`` (absolute).

    numba's on-disk cache (librosa's ``@guvectorize(cache=True)`` functions) is not safe when several processes
    compile one function at once (numba issue 10128, librosa issue 1998): mismatched files crash every later
    process that loads them. A job of its own never shares its folder with a running job, and a rerun of the same
    job finds its compiled functions again. Set before the step imports librosa.

    >>> numba_cache("features", ["results/features/emodb.npz"]).name
    'features-02faf3b1d425'
    """
    digest = hashlib.sha1("\n".join(map(str, outputs)).encode()).hexdigest()[:12]
    return (NUMBA_CACHES / f"{rule}-{digest}").absolute()


def data_root_problem(root: str | Path, default: str | Path | None = None) -> str | None:
    """Why ``root`` cannot be ``data_root`` (the folder of corpus folders, downloads included), or ``None``.

    The default folder (``default``, where it is the one asked for) is created when missing, so that a first run
    downloads the public corpora into it; a folder the user named must exist.

    >>> data_root_problem("/no/such/corpora")
    'data_root /no/such/corpora: no such folder; create it (corpora with a public archive are downloaded into it) or set data_root to the folder holding your corpora (--config data_root=PATH or your --configfile)'
    """  # noqa: E501
    folder = Path(root)
    hint = "set data_root to the folder holding your corpora (--config data_root=PATH or your --configfile)"
    if not folder.exists() and default is not None and folder == Path(default):
        folder.mkdir(parents=True)
    if not folder.exists():
        return (
            f"data_root {folder}: no such folder; create it (corpora with a public archive are downloaded into it) "
            f"or {hint}"
        )
    if not folder.is_dir():
        return f"data_root {folder}: a file, not a folder; {hint}"
    return None


def results_problem(results: str | Path) -> str | None:
    """Why the workflow cannot write its outputs under ``results`` (or, before the first run, create it), or
    ``None``: a probe file is created and removed in ``results`` (or its nearest existing parent) before any job,
    so that a read-only checkout is named at once, not by a failing step."""
    folder = Path(results)
    existing = next(p for p in (folder, *folder.parents, Path(".")) if p.exists())
    try:
        with tempfile.TemporaryFile(dir=existing):
            return None
    except OSError as err:
        return f"{existing}: not writable ({err.strerror}; results go to {folder}); make it writable or run elsewhere"


def snakemake_arguments(
    snakefile: str | Path, directory: str | Path, configfiles: list[str | Path], config_args: list[str]
) -> list[str]:
    """The Snakemake command line of a run as the user started it: Snakefile, folder, config files, ``--config``.

    >>> snakemake_arguments("/r/Snakefile", "/w", ["/w/my.yaml"], ["a=1"])
    ['snakemake', '--snakefile', '/r/Snakefile', '--directory', '/w', '--configfile', '/w/my.yaml', '--config', 'a=1']
    """
    parts = ["snakemake", "--snakefile", str(snakefile), "--directory", str(directory)]
    if configfiles:
        parts += ["--configfile", *map(str, configfiles)]
    if config_args:
        parts += ["--config", *config_args]
    return parts


def rebuild_command(
    snakefile: str | Path, directory: str | Path, configfiles: list[str | Path], config_args: list[str]
) -> str:
    """The Snakemake command that rebuilds one output of this run, as the user started it (append the path).

    Damaged-file messages print it (``serbench.step_files.damaged`` reads ``SERBENCH_REBUILD``), so that it runs as
    printed with the user's config files and ``--config`` values.

    >>> rebuild_command("/r/workflow/Snakefile", "/w", ["/w/my.yaml"], ["data_root=/data x"])
    "snakemake --snakefile /r/workflow/Snakefile --directory /w --configfile /w/my.yaml --config 'data_root=/data x' --cores 1 --force"
    """  # noqa: E501
    return shlex.join(snakemake_arguments(snakefile, directory, configfiles, config_args)) + " --cores 1 --force"


def export_rebuild_command(workflow: Any, directory: str | Path) -> None:
    """Put this run's :func:`rebuild_command` in the environment (``SERBENCH_REBUILD``) that its jobs inherit."""
    os.environ[REBUILD_VARIABLE] = rebuild_command(
        workflow.main_snakefile,
        directory,
        workflow.config_settings.configfiles,
        workflow.config_settings.config_args or [],
    )


def mock_snakemake(rule: str, configfiles: list[str] | None = None, **wildcards: str) -> Any:
    """The ``snakemake`` object a job of ``rule`` with ``wildcards`` would get, for running a script by hand.

    Paths are made absolute and the output and log folders created; the
    working directory is the repository root.

    Raises:
        KeyError: no such rule.
    """
    from snakemake.api import Workflow
    from snakemake.dag import DAG
    from snakemake.jobs import Job
    from snakemake.logging import LoggerManager, logger
    from snakemake.script import Snakemake
    from snakemake.settings.types import (
        ConfigSettings,
        DAGSettings,
        OutputSettings,
        ResourceSettings,
        StorageSettings,
        WorkflowSettings,
    )

    os.chdir(REPOSITORY)
    environment = dict(os.environ)  # the Snakefile sets variables for its jobs; a caller's process keeps its own
    workflow = Workflow(
        config_settings=ConfigSettings(configfiles=[Path(f) for f in configfiles or []]),
        resource_settings=ResourceSettings(),
        workflow_settings=WorkflowSettings(),
        storage_settings=StorageSettings(),
        dag_settings=DAGSettings(rerun_triggers=[]),
        storage_provider_settings={},
        logger_manager=LoggerManager(logger=logger, settings=OutputSettings()),
    )
    workflow.include(REPOSITORY / "workflow" / "Snakefile")
    for configfile in configfiles or []:
        workflow.configfile(configfile)
    workflow.global_resources = {}
    job = Job(workflow.get_rule(rule), DAG(workflow, rules=[workflow.get_rule(rule)]), wildcards)
    for files in (job.input, job.output, job.log):
        for index, path in enumerate(files):
            files[index] = os.path.abspath(path)
    for path in [*job.output, *job.log]:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    os.environ.clear()
    os.environ.update(environment)
    return Snakemake(
        job.input,
        job.output,
        job.params,
        job.wildcards,
        job.threads,
        job.resources,
        job.log,
        workflow.config,
        job.rule.name,
        None,
    )
