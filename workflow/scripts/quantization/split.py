"""Fold tables of one dataset and protocol, every seed in one file, validation shared with the bit search."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "quantization_split", dataset="emodb", protocol="random") as job:
    from serbench.folds import write_folds

    write_folds(
        job.wildcards.protocol,
        dict(zip(job.params.corpora, job.input.manifests)),
        job.params.seeds,
        job.params.split,
        job.output[0],
        job.params.search_fraction,
    )
