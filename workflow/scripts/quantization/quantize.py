"""Quantize every trained model of one cell with every quantizer and variant, packed, and score each file (records
name the classes the protocol keeps, and each test utterance's speaker and whether it was classified correctly)."""

from serbench.workflow import job_corpora, job_run, snakemake_job

with snakemake_job(
    globals(), "quantization_quantize", features="mfcc_chroma_mel", dataset="emodb", protocol="random", model="mlp"
) as job:
    from serbench.device import resolve_device
    from serbench.settings.steps import QuantizeStepSettings
    from serbench.studies.quantization.quantize_step import quantize_cell

    quantize_cell(
        job.input.models,
        job.input.split,
        job_corpora(job),
        QuantizeStepSettings.from_params(job.params.quantization),
        job.params.batch_size,
        job.params.max_frames,
        job_run(job),
        job.output.packed,
        job.output.metrics,
        job.params.normalise,
        resolve_device(job.params.device),
    )
