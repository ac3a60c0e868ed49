"""Load a study's upstream once, early, and describe it (serbench.ssl.upstream)."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "describe_encoder", study="distilhubert", upstream="distilhubert") as job:
    from serbench.atomic import write_json
    from serbench.ssl.upstream import describe_upstream

    key = f"{job.wildcards.study}.upstreams"
    write_json(job.output[0], describe_upstream(job.params.pretrained, key, job.params.whisper_input))
