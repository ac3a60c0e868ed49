"""Bytes and CPU latency per clip of the full-size encoder + head: PyTorch and ONNX float, ONNX int8 dynamic, static."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "distilhubert_latency") as job:
    from serbench.studies.distilhubert.deploy import latency

    cfg = job.params.latency
    latency(
        job.params.architecture, job.params.n_classes, cfg["seconds"], cfg["repeats"], cfg["threads"], job.output[0]
    )
