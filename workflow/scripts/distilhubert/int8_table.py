"""The 8-bit model table of the DistilHuBERT study, a section per upstream."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "distilhubert_int8_table") as job:
    from serbench.studies.distilhubert.report import write_int8_table

    write_int8_table(list(job.input.int8), list(job.input.latency), list(job.input.deploy), job.output[0])
