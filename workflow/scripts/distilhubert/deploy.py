"""One upstream's deployable float and int8 ONNX models, the int8 scheme chosen by measurement."""

from pathlib import Path

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "distilhubert_deploy", upstream="distilhubert") as job:
    from serbench.dataset import CorpusFiles
    from serbench.settings.names import Fold
    from serbench.settings.ssl import WaveformSettings
    from serbench.studies.distilhubert.deploy import Head, deploy
    from serbench.studies.distilhubert.steps import head_path

    seed = job.params.seed
    fold = Fold.parse(Path(job.input.head).name).fold
    deploy(
        job.params.pretrained,
        WaveformSettings.from_params(job.params.waveform),
        Head(str(head_path(job.input.head, seed)), job.input.split, fold, seed),
        {job.params.corpus: CorpusFiles(job.input.manifest, job.input.waveforms)},
        job.input.int8,
        job.input.latency,
        job.params.deployed_int8,
        job.params.max_int8_uar_loss,
        job.params.calibration_utterances,
        str(Path(job.output.model).parent),
        job.output.record,
    )
