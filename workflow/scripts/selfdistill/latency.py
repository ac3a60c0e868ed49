"""Parameters and CPU latency per clip of every exit of the full-size encoder (random weights)."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "selfdistill_latency") as job:
    from serbench.studies.selfdistill.steps import exit_latency

    cfg = job.params.latency
    exit_latency(
        job.params.architecture,
        job.params.exit_layers,
        "conv",
        7,
        cfg["seconds"],
        cfg["repeats"],
        cfg["threads"],
        job.output[0],
    )
