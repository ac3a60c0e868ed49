"""MFCC + Chroma + Mel features of a corpus, per frame and per utterance (serbench.features)."""

import sys

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "features", corpus="emodb") as job:
    from serbench.settings import FeatureSettings
    from serbench.studies.quantization.steps import features

    lost = features(
        job.input.manifest, job.output.utterance, job.output.frames, FeatureSettings(**job.params.features), job.threads
    )
    if lost:
        print(f"{job.wildcards.corpus} {lost}", file=sys.stderr)
