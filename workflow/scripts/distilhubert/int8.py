"""Int8 encoders (static, dynamic) over every test fold: UA and fidelity; the deployable float and int8 ONNX models."""

from pathlib import Path

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "distilhubert_int8") as job:
    from serbench.dataset import CorpusFiles
    from serbench.studies.distilhubert.deploy import int8

    heads = [
        (str(Path(folder, f"seed{seed}", "head.pt")), job.input.split, Path(folder).name.removeprefix("fold"), seed)
        for folder in job.input.heads
        for seed in job.params.seeds
    ]
    corpora = {job.params.corpus: CorpusFiles(job.input.manifest, job.input.waveforms)}
    int8(
        job.params.pretrained,
        heads,
        corpora,
        str(Path(job.output.model).parent),
        job.output.measurements,
        job.params.calibration_utterances,
    )
