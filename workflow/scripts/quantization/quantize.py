"""Quantize every trained model of one cell with every quantizer and variant, packed, and score each file (records
name the classes the protocol keeps, and each test utterance's speaker and whether it was classified correctly)."""

from serbench.workflow import snakemake_job

with snakemake_job(
    globals(), "quantization_quantize", features="mfcc_chroma_mel", dataset="emodb", protocol="random", model="mlp"
) as job:
    from serbench.dataset import CorpusFiles
    from serbench.device import resolve_device
    from serbench.settings.steps import QuantizeStepSettings
    from serbench.studies.quantization.quantize_step import quantize_cell

    corpora = {c: CorpusFiles(m, f) for c, m, f in zip(job.params.corpora, job.input.manifests, job.input.features)}
    run = {k: getattr(job.wildcards, k) for k in ("dataset", "features", "protocol", "model")}
    quantize_cell(
        job.input.models,
        job.input.split,
        corpora,
        QuantizeStepSettings.from_params(job.params.quantization),
        job.params.batch_size,
        job.params.max_frames,
        run,
        job.output.packed,
        job.output.metrics,
        job.params.normalise,
        resolve_device(job.params.device),
    )
