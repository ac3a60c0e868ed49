"""One feature set of a corpus, per frame and per utterance: MFCC + Chroma + Mel
(serbench.studies.quantization.features) or eGeMAPS (serbench.studies.quantization.egemaps)."""

import sys

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "quantization_features", features="mfcc_chroma_mel", corpus="emodb") as job:
    from serbench.settings.quantization import FeatureExtractionSettings
    from serbench.studies.quantization.feature_step import features

    lost = features(
        job.input.manifest,
        job.output.utterance,
        job.output.frames,
        FeatureExtractionSettings.from_params(job.params.features),
        job.threads,
        job.wildcards.features,
    )
    if lost:
        print(f"{job.wildcards.corpus} {job.wildcards.features} {lost}", file=sys.stderr)
