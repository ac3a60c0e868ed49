"""16 kHz waveforms of a corpus: trimmed, pre-emphasised, peak-normalised and cut (ismail), or as read (raw)."""

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "waveforms", preparation="ismail", corpus="emodb") as job:
    from serbench.cache import save_ragged
    from serbench.corpora import read_manifest
    from serbench.settings import WaveformSettings
    from serbench.ssl.waveforms import prepare_corpus

    cfg = WaveformSettings(**job.params.waveform)
    manifest = read_manifest(job.input.manifest)
    save_ragged(job.output[0], *prepare_corpus(manifest, cfg, job.wildcards.preparation))
