"""CPU latency of every model family on one clip of a feature set: feature extraction plus classifier."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "quantization_latency", features="mfcc_chroma_mel") as job:
    from serbench.atomic import write_json
    from serbench.labels import CANONICAL_EMOTIONS
    from serbench.settings.base import LatencySettings
    from serbench.settings.quantization import FeatureExtractionSettings
    from serbench.studies.quantization.latency import feature_model_latency

    cfg = LatencySettings.from_params(job.params.latency)
    result = feature_model_latency(
        job.wildcards.features,
        FeatureExtractionSettings.from_params(job.params.features),
        job.params.families,
        len(CANONICAL_EMOTIONS),  # the widest output layer any corpus gives a model
        job.params.max_frames,
        cfg.seconds,
        cfg.repeats,
        cfg.threads,
    )
    write_json(job.output[0], result)
