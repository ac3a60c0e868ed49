"""The self-distillation study's tables: Table 1 and 2 layouts, exits for deployment."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "selfdistill_report") as job:
    from serbench.studies.selfdistill.report import write_report

    write_report(
        job.input.metrics,
        job.input.int8,
        job.input.latency,
        job.input.encoder,
        job.params.exit_layers,
        job.output.runs,
        job.output.md,
        job.params.config_hash,
    )
