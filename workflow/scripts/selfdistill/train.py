"""Fine-tune one self-distillation variant (or fine-tuned-only baseline) on every seed of one fold."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "selfdistill_train", variant="conv-l2", fold="0") as job:
    from serbench.dataset import CorpusFiles
    from serbench.settings.ssl import SelfDistillSettings
    from serbench.studies.selfdistill.steps import train_fold

    cfg = SelfDistillSettings(**job.params.selfdistill)
    corpora = {cfg.corpus: CorpusFiles(job.input.manifest, job.input.waveforms)}
    train_fold(
        job.input.split,
        job.wildcards.fold,
        corpora,
        job.wildcards.variant,
        cfg,
        {"dataset": cfg.corpus},
        job.output.models,
        job.output.metrics,
    )
