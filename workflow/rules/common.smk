# What every study shares: validated settings, result paths, log and benchmark paths, wildcard constraints.
import os
import shlex
import shutil
import sys

from serbench import integrity
from serbench.provenance import study_config_hash
from serbench.settings import SettingsError, load_settings
from serbench.settings.ssl import upstream_name
from serbench.workflow import data_root_problem, export_rebuild_command

try:
    SETTINGS = load_settings(config)
except SettingsError as err:
    sys.exit(
        f"{err}\n(every key, its type and default: workflow/schemas/config.schema.json)"
    )

DATA_ROOT_PROBLEM = data_root_problem(SETTINGS.data_root)
if DATA_ROOT_PROBLEM and os.path.exists(SETTINGS.data_root):
    sys.exit(DATA_ROOT_PROBLEM)  # a file: no input path under it can even be checked


RESULTS = "results"
# damaged-file messages print a rebuild command that works as printed (serbench.cache.damaged)
export_rebuild_command(workflow, os.getcwd())


wildcard_constraints:
    corpus="[a-z0-9]+",
    dataset="[a-z0-9_]+",
    protocol="random|speaker_independent|cross_corpus(_per_corpus|_per_speaker)?",
    model="[a-z0-9_]+",
    setting="base|extra",
    upstream="[a-z0-9-]+",
    preparation="ismail|raw",
    variant=r"(conv|lstm|gru)-[a-z0-9+]+|baseline-\d+",


def settings(*keys):
    """A config section as the plain dict a job's params carry (a changed value reruns the job)."""
    section = SETTINGS
    for key in keys:
        section = getattr(section, key)
    return section.model_dump(mode="json")


def drop_damaged(folder):
    """Input function of the job writing ``folder`` (a pattern), adding no input. A folder whose files no
    longer match the checksums its job recorded (serbench.integrity) is removed, saying so, and so rebuilt.
    """

    def check(wildcards):
        path = folder.format(**wildcards)
        problem = integrity.damage(path)
        if problem:
            print(
                f"{path}: damaged ({problem}); removed, to be rebuilt", file=sys.stderr
            )
            shutil.rmtree(path)
        return []

    return check


def drop_stale_manifest(wildcards):
    """Input function of the manifest job, adding no input: a manifest whose corpus has files added, removed or
    replaced since its scan (serbench.integrity.listing_change) is removed, saying so, and so rebuilt.
    """
    manifest = f"{RESULTS}/manifests/{wildcards.corpus}"
    change = integrity.listing_change(
        f"{SETTINGS.data_root}/{wildcards.corpus}", f"{manifest}.files.json"
    )
    if change and os.path.exists(f"{manifest}.csv"):
        print(
            f"{wildcards.corpus}: {change} since its manifest; rescanned",
            file=sys.stderr,
        )
        os.remove(f"{manifest}.csv")
    return []


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
