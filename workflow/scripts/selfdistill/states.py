"""A frozen upstream's hidden states of every utterance of the study corpus, tiled as the study batches them."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "selfdistill_states", upstream="wav2vec2-base") as job:
    from serbench.device import resolve_device
    from serbench.settings.steps import SelfDistillStatesSettings
    from serbench.studies.selfdistill.steps import encode_states

    cfg = SelfDistillStatesSettings.from_params(job.params.selfdistill)
    encode_states(
        job.input.waveforms,
        cfg.upstream(job.wildcards.upstream),
        cfg,
        job.params.whisper_input,
        job.output[0],
        resolve_device(job.params.device),
    )
