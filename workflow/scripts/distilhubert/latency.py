"""Bytes and CPU latency per clip of the full-size encoder + head: PyTorch float, ONNX float and int8."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "distilhubert_latency") as job:
    from serbench.studies.distilhubert.deploy import latency

    cfg = job.params.latency
    latency(job.params.architecture, job.params.n_classes, cfg["seconds"], cfg["repeats"], job.threads, job.output[0])
