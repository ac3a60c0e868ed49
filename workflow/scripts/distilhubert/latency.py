"""Bytes and CPU latency per clip of one upstream + head: PyTorch and ONNX float, ONNX int8 in every scheme."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "distilhubert_latency", upstream="distilhubert") as job:
    from serbench.folds import fold_classes, read_folds
    from serbench.settings.base import LatencySettings
    from serbench.studies.distilhubert.latency import upstream_latency

    cfg = LatencySettings.from_params(job.params.latency)
    n_classes = len(fold_classes(read_folds(job.input.split)))
    upstream_latency(
        job.params.pretrained,
        n_classes,
        cfg.seconds,
        cfg.repeats,
        cfg.threads,
        job.output[0],
        job.params.whisper_input,
    )
