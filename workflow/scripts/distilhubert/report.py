"""Table I of the DistilHuBERT study and the cross-corpus confusion matrix."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "distilhubert_report") as job:
    from serbench.studies.distilhubert.report import write_report

    write_report(
        job.input.metrics,
        list(job.input.encoders),
        job.output.runs,
        job.output.csv,
        job.output.md,
        job.output.confusion,
        job.params.config_hash,
    )
