"""The self-distillation study's folds: speaker folds, or fixed speaker lists (DEMoS), every seed in one file."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "selfdistill_split") as job:
    from serbench.folds import write_folds

    write_folds(
        job.params.protocol, {job.params.corpus: job.input.manifest}, job.params.seeds, job.params.split, job.output[0]
    )
