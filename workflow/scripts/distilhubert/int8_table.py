"""The 8-bit model table of the DistilHuBERT study."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "distilhubert_int8_table") as job:
    from serbench.studies.distilhubert.report import write_int8_table

    write_int8_table(job.input.int8, job.input.latency, job.output[0])
