"""Every exit of a variant's first model as float and int8 ONNX: sizes and test UAR."""

from pathlib import Path

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "selfdistill_int8", upstream="wav2vec2-base", variant="conv-l2") as job:
    from serbench.dataset import CorpusFiles
    from serbench.settings.names import Fold
    from serbench.settings.selfdistill import SelfDistillSettings
    from serbench.settings.ssl import WaveformSettings
    from serbench.ssl.upstream import UpstreamChoice
    from serbench.studies.selfdistill.deploy import int8_exits
    from serbench.studies.selfdistill.steps import model_path

    cfg = SelfDistillSettings.from_params(job.params.selfdistill)
    waveform = WaveformSettings.from_params(job.params.waveform)
    int8_exits(
        str(model_path(job.input.models, job.params.seed)),
        cfg,
        UpstreamChoice(cfg.upstream(job.wildcards.upstream).pretrained, waveform.whisper_input),
        job.input.split,
        Fold.parse(Path(job.input.models).name).fold,
        job.params.seed,
        {cfg.corpus: CorpusFiles(job.input.manifest, job.input.waveforms)},
        waveform,
        job.output.measurements,
        job.output.model,
    )
