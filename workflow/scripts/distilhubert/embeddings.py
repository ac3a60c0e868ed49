"""Pooled hidden states of every utterance of a corpus, clean and augmented views (frozen encoder)."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "distilhubert_embeddings", upstream="distilhubert", corpus="emodb") as job:
    from serbench.device import resolve_device
    from serbench.settings.ssl import AugmentSettings
    from serbench.studies.distilhubert.steps import embeddings

    embeddings(
        job.input.waveforms,
        job.params.pretrained,
        job.params.whisper_input,
        job.params.views,
        AugmentSettings.from_params(job.params.augment),
        job.params.seed,
        job.output[0],
        resolve_device(job.params.device),
    )
