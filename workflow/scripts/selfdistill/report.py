"""The self-distillation study's tables: Table 1 and 2 layouts, exits for deployment, a section per upstream."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "selfdistill_report") as job:
    from serbench.studies.selfdistill.report import write_report

    write_report(
        list(job.input.metrics),
        list(job.input.int8),
        list(job.input.latency),
        list(job.input.encoders),
        job.output.runs,
        job.output.md,
        job.params.config_hash,
    )
