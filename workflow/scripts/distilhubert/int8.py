"""One upstream's int8 encoders (static, mixed, dynamic, dynamic_ffn_float) over every test fold: UA and fidelity."""

from pathlib import Path

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "distilhubert_int8", upstream="distilhubert") as job:
    from serbench.dataset import CorpusFiles
    from serbench.settings.names import Fold
    from serbench.studies.distilhubert.deploy import Head, evaluate_int8
    from serbench.studies.distilhubert.steps import head_path

    heads = [
        Head(str(head_path(folder, seed)), job.input.split, Fold.parse(Path(folder).name).fold, seed)
        for folder in job.input.heads
        for seed in job.params.seeds
    ]
    evaluate_int8(
        job.params.pretrained,
        job.params.whisper_input,
        heads,
        {job.params.corpus: CorpusFiles(job.input.manifest, job.input.waveforms)},
        str(Path(job.output.encoder).parent),
        job.output.measurements,
        job.params.calibration_utterances,
    )
