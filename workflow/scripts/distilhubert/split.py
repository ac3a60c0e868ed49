"""Speaker (or session) folds, or EmoBox's, of the study corpus; extra corpora in every training subset; classes."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "distilhubert_split", setting="base") as job:
    from serbench.studies.distilhubert.folds import write_split

    split = job.params.split
    write_split(
        split["corpus"],
        dict(zip(job.params.corpora, job.input.manifests)),
        job.params.corpora[1:],
        split["label_map"],
        job.params.seeds,
        job.output[0],
        split["n_folds"],
        split["group_by"],
        split["validation_speakers"],
        production_validation=split["production_validation"],
        protocol=split["protocol"],
    )
