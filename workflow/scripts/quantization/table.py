"""The quantization study's tables: per run, summary (CSV and Markdown), and beside the literature."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "quantization_table") as job:
    from serbench.studies.quantization.tables import TableFiles, write_tables

    manifests = dict(zip(job.params.corpora, job.input.manifests))
    write_tables(list(job.input.metrics), manifests, TableFiles(**dict(job.output.items())), job.params.config_hash)
