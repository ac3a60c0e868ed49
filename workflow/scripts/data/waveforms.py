"""16 kHz trimmed, pre-emphasised, peak-normalised waveforms of a corpus (serbench.ssl.waveforms)."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "waveforms", corpus="emodb") as job:
    from serbench.cache import save_ragged
    from serbench.corpora import read_manifest
    from serbench.settings import WaveformSettings
    from serbench.ssl.waveforms import prepare_corpus

    save_ragged(
        job.output[0], *prepare_corpus(read_manifest(job.input.manifest), WaveformSettings(**job.params.waveform))
    )
