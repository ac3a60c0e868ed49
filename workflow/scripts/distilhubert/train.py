"""Every seed of one fold (or of the production model) of one setting: a head on cached states, or encoder and
head fine-tuned together."""

from serbench.workflow import job_corpora, snakemake_job

with snakemake_job(
    globals(), "distilhubert_train", upstream="distilhubert", setting="base", fold_folder="fold0"
) as job:
    from serbench.device import resolve_device
    from serbench.settings.names import Fold
    from serbench.settings.ssl import DistilHubertSettings
    from serbench.ssl.upstream import UpstreamChoice
    from serbench.studies.distilhubert.steps import train_fold

    cfg = DistilHubertSettings.from_params(job.params.distilhubert)
    files = job_corpora(job, "caches")
    cross = (cfg.cross_corpus_test, files.pop(cfg.cross_corpus_test)) if cfg.cross_corpus_test else None
    run = {"dataset": cfg.corpus, "setting": job.wildcards.setting}
    fold = Fold.parse(job.wildcards.fold_folder).fold
    upstream = UpstreamChoice(job.params.pretrained, job.params.whisper_input)
    outputs = (job.output.heads, job.output.metrics)
    train_fold(job.input.split, fold, files, cross, cfg, upstream, run, *outputs, resolve_device(job.params.device))
