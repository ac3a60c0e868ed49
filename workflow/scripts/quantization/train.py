"""Train every fold and seed of one (dataset, protocol, model family) cell."""

from serbench.workflow import job_corpora, snakemake_job

with snakemake_job(
    globals(), "quantization_train", features="mfcc_chroma_mel", dataset="emodb", protocol="random", model="mlp"
) as job:
    from serbench.device import resolve_device
    from serbench.settings import TrainSettings
    from serbench.studies.quantization.train_step import train_cell

    train_cell(
        job.input.split,
        job_corpora(job),
        job.wildcards.model,
        job.params.model,
        TrainSettings.from_params(job.params.train),
        job.params.max_frames,
        job.output[0],
        job.params.normalise,
        resolve_device(job.params.device),
        job.params.features,
    )
