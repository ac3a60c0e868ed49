"""Every allocator traced over its own knob (T_margin or a b̄ budget) on every trained model of one cell, each
point scored on the test split."""

from serbench.workflow import snakemake_job

with snakemake_job(
    globals(), "quantization_allocators", features="mfcc_chroma_mel", dataset="emodb", protocol="random", model="mlp"
) as job:
    from serbench.dataset import CorpusFiles
    from serbench.device import resolve_device
    from serbench.settings.steps import AllocatorStepSettings
    from serbench.studies.quantization.curves import allocator_curves

    corpora = {c: CorpusFiles(m, f) for c, m, f in zip(job.params.corpora, job.input.manifests, job.input.features)}
    run = {k: getattr(job.wildcards, k) for k in ("dataset", "features", "protocol", "model")}
    allocator_curves(
        job.input.models,
        job.input.split,
        corpora,
        AllocatorStepSettings.from_params(job.params.quantization),
        job.params.max_frames,
        run,
        job.output[0],
        job.params.normalise,
        resolve_device(job.params.device),
    )
