# What every study shares: validated settings, result paths, log and benchmark paths, wildcard constraints.
import os
import shlex
import sys
from typing import get_args

from serbench import integrity
from serbench.html_page import TablePage
from serbench.provenance import study_config_hash
from serbench.run_record import record_run
from serbench.settings import SettingsError, load_settings
from serbench.settings.base import INPUT_LEVELS
from serbench.settings.names import ExitVariant, Fold, Protocol
from serbench.settings.quantization import FeatureExtractionSettings, FeatureSet
from serbench.settings.steps import (
    AllocatorStepSettings,
    QuantizeStepSettings,
    SelfDistillStatesSettings,
)
from serbench.settings.ssl import upstream_name
from serbench.workflow import data_root_problem, export_rebuild_command, results_problem

try:
    SETTINGS = load_settings(config)
except SettingsError as err:
    sys.exit(
        f"{err}\n(every key, its type and default: workflow/schemas/config.schema.json)"
    )
# every setting, defaults included, for what reads the config itself (the report's landing text)
config.update(SETTINGS.model_dump(mode="json"))

DATA_ROOT_PROBLEM = data_root_problem(
    SETTINGS.data_root, SETTINGS.model_fields["data_root"].default
)
if DATA_ROOT_PROBLEM and os.path.exists(SETTINGS.data_root):
    sys.exit(DATA_ROOT_PROBLEM)  # a file: no input path under it can even be checked


RESULTS = "results"
# A job that runs a speech encoder asks for this many threads; Snakemake gives it at most --cores, so such jobs
# run one at a time on a small machine, each on every core, instead of several sharing the cores.
ENCODER_THREADS = 8
# before Snakemake sees any output: results writable; damaged cells and manifests of changed corpora dated back,
# so rebuilt
if workflow.is_main_process:
    if problem := results_problem(RESULTS):
        sys.exit(problem)
    try:
        outdated = integrity.outdate_damaged(RESULTS)
        outdated += integrity.outdate_stale_manifests(
            f"{RESULTS}/manifests", SETTINGS.data_root
        )
    except OSError as err:
        sys.exit(f"{err.filename}: cannot be marked for rebuilding ({err.strerror})")
    for line in outdated:
        print(line, file=sys.stderr)
# damaged-file messages print a rebuild command that works as printed (serbench.step_files.damaged)
export_rebuild_command(workflow, os.getcwd())


wildcard_constraints:
    corpus="[a-z0-9]+",
    features="|".join(get_args(FeatureSet)),
    dataset="[a-z0-9_]+",
    protocol=Protocol.PATTERN,
    model="[a-z0-9_]+",
    setting="base|extra|emobox",
    upstream="[a-z0-9-]+",
    preparation="ismail|raw",
    variant=ExitVariant.PATTERN,


def settings(*keys):
    """A config section as the plain dict a job's params carry (a changed value reruns the job); a step that reads
    only part of one takes it with step_params."""
    section = SETTINGS
    for key in keys:
        section = getattr(section, key)
    return section.model_dump(mode="json")


def step_params(section, step):
    """The part of a settings section one step reads (``step``, a model of :mod:`serbench.settings.steps` or a
    sub-section), as the plain dict its params carry: that step's script reads it back whole.
    """
    return section.part(step).model_dump(mode="json")


def logs(name):
    return f"{RESULTS}/logs/{name}.log"


def benchmarks(name):
    return f"{RESULTS}/benchmarks/{name}.tsv"


def manifests(corpora):
    return [f"{RESULTS}/manifests/{c}.csv" for c in corpora]


def studies(name):
    return name in SETTINGS.studies


def run_problems():
    """What stops a run before its first job, one line each: a data_root that is no folder, an upstream of a
    chosen SSL study that cannot be loaded (serbench.ssl.hub: a cache or folder look-up, no model loaded).
    """
    from serbench.ssl.hub import upstream_problem

    upstreams = {
        "distilhubert": SETTINGS.distilhubert.upstreams,
        "selfdistill": [u.pretrained for u in SETTINGS.selfdistill.upstreams],
    }
    problems = [DATA_ROOT_PROBLEM] + [
        upstream_problem(pretrained, f"{study}.upstreams")
        for study, names in upstreams.items()
        if studies(study)
        for pretrained in names
    ]
    return [problem for problem in problems if problem]


def download_command(corpus, dest, checksum, log):
    """`serbench download` by Snakemake's own interpreter (it imports serbench), never one found on PATH. The URL
    is no param: a mirror holds the same archive, so setting one must not fetch a downloaded corpus again.
    """
    url = SETTINGS.download_urls.get(corpus, "")
    command = [sys.executable, "-m", "serbench", "download", "--corpus", corpus]
    command += ["--dest", dest, "--checksum", checksum, "--url", url]
    return f"{shlex.join(command)} 2> {shlex.quote(log)}"
