"""16 kHz waveforms of a corpus: trimmed, pre-emphasised, peak-normalised and cut (ismail), or as read (raw)."""

import sys

from serbench.workflow import snakemake_job

with snakemake_job(globals(), "waveforms", preparation="ismail", corpus="emodb") as job:
    from serbench.cache import save_ragged
    from serbench.corpora import left_out, read_manifest
    from serbench.settings import WaveformSettings
    from serbench.ssl.waveforms import prepare_corpus

    cfg = WaveformSettings.from_params(job.params.waveform)
    manifest = read_manifest(job.input.manifest)
    ids, waveforms = prepare_corpus(manifest, cfg, job.wildcards.preparation)
    save_ragged(job.output[0], ids, waveforms)
    lost = left_out(manifest, ids, "waveforms")
    if lost:
        print(f"{job.wildcards.corpus} {lost}", file=sys.stderr)
