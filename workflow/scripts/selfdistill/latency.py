"""Parameters, bytes and CPU latency per clip of every exit of one upstream, PyTorch and ONNX, float and int8."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "selfdistill_latency", upstream="wav2vec2-base") as job:
    from serbench.corpora import read_manifest
    from serbench.folds import fold_classes, read_folds
    from serbench.settings.selfdistill import SelfDistillSettings
    from serbench.studies.selfdistill.deploy import exit_latency

    n_classes = len(fold_classes(read_folds(job.input.split), read_manifest(job.input.manifest)))
    cfg = SelfDistillSettings.from_params(job.params.selfdistill)
    spec, latency = cfg.upstream(job.wildcards.upstream), cfg.latency
    exit_latency(
        spec.pretrained,
        list(spec.exit_layers),
        "conv",
        n_classes,
        latency.seconds,
        latency.repeats,
        latency.threads,
        job.output[0],
        job.params.whisper_input,
        cfg.int8_scheme,
    )
