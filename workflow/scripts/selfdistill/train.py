"""Train one self-distillation variant (or fine-tuned-only baseline) of one upstream on every seed of one fold."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "selfdistill_train", upstream="wav2vec2-base", variant="conv-l2", fold="0") as job:
    from serbench.dataset import CorpusFiles
    from serbench.device import resolve_device
    from serbench.settings.selfdistill import SelfDistillSettings
    from serbench.ssl.upstream import UpstreamChoice
    from serbench.studies.selfdistill.steps import train_fold

    cfg = SelfDistillSettings.from_params(job.params.selfdistill)
    train_fold(
        job.input.split,
        job.wildcards.fold,
        {cfg.corpus: CorpusFiles(job.input.manifest, job.input.cache)},
        job.wildcards.variant,
        cfg,
        UpstreamChoice(cfg.upstream(job.wildcards.upstream).pretrained, job.params.whisper_input),
        {"dataset": cfg.corpus},
        job.output.models,
        job.output.metrics,
        resolve_device(job.params.device),
    )
