"""Every exit of a variant's first model as float and int8 ONNX: sizes and test UAR."""

from pathlib import Path

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "selfdistill_int8", variant="conv-l2") as job:
    from serbench.dataset import CorpusFiles
    from serbench.studies.selfdistill.steps import int8_exits

    model = str(Path(job.input.models, f"seed{job.params.seed}", "model.pt"))
    corpora = {job.params.corpus: CorpusFiles(job.input.manifest, job.input.waveforms)}
    int8_exits(
        model,
        job.params.pretrained,
        job.input.split,
        "0",
        job.params.seed,
        corpora,
        job.output[0],
        job.params.calibration_utterances,
    )
