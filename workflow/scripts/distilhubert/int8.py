"""Int8 encoders (static, dynamic) over every test fold: UA and fidelity; the deployable float and int8 ONNX models
(of the production model when the study trains one)."""

from pathlib import Path

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "distilhubert_int8") as job:
    from serbench.dataset import CorpusFiles
    from serbench.studies.distilhubert.deploy import int8

    def head(folder: str, seed: int) -> tuple[str, str, str, int]:
        return (
            str(Path(folder, f"seed{seed}", "head.pt")),
            job.input.split,
            Path(folder).name.removeprefix("fold"),
            seed,
        )

    heads = [head(folder, seed) for folder in job.input.heads for seed in job.params.seeds]
    deployed = head(job.input.production, job.params.seeds[0]) if job.input.get("production") else None
    corpora = {job.params.corpus: CorpusFiles(job.input.manifest, job.input.waveforms)}
    int8(
        job.params.pretrained,
        heads,
        corpora,
        str(Path(job.output.model).parent),
        job.output.measurements,
        job.params.calibration_utterances,
        deployed,
        job.params.deployed_int8,
    )
