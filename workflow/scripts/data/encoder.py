"""Load a study's pretrained encoder once, early, and describe it (serbench.ssl.upstream)."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "describe_encoder", study="distilhubert") as job:
    from serbench.atomic import write_json
    from serbench.ssl.upstream import describe_upstream

    write_json(job.output[0], describe_upstream(job.params.pretrained, f"{job.wildcards.study}.pretrained"))
