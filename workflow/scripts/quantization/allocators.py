"""Every allocator traced over its own knob (T_margin or a b̄ budget) on every trained model of one cell, each
point scored on the test split (or its result taken from the cell's quantize step, where that scored the same
widths)."""

from serbench.workflow import job_corpora, job_run, snakemake_job

with snakemake_job(
    globals(), "quantization_allocators", features="mfcc_chroma_mel", dataset="emodb", protocol="random", model="mlp"
) as job:
    from serbench.device import resolve_device
    from serbench.settings.steps import AllocatorStepSettings
    from serbench.studies.quantization.curves import allocator_curves

    allocator_curves(
        job.input.models,
        job.input.split,
        job_corpora(job),
        AllocatorStepSettings.from_params(job.params.quantization),
        job.params.max_frames,
        job_run(job),
        job.output[0],
        job.params.normalise,
        resolve_device(job.params.device),
        job.input.quantized,
    )
