"""The quantization study's tables: per run, summary (CSV and Markdown), and beside the literature."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "quantization_table") as job:
    from serbench.studies.quantization.tables import write_tables

    write_tables(
        list(job.input), job.output.runs, job.output.csv, job.output.md, job.output.literature, job.params.config_hash
    )
