"""Audio decoding: any format libsndfile reads (WAV, FLAC, OGG...), to mono float32."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from serbench.errors import InputError

AUDIO_EXTENSIONS: frozenset[str] = frozenset({".wav", ".flac", ".ogg", ".aiff", ".aif"})

# libsndfile writes "data : 32000 (should be 15978)" into its log when a WAV's
# data chunk promises more bytes than the file holds.
_TRUNCATED = re.compile(r"^data\s*:.*should be", re.MULTILINE)


class AudioError(InputError):
    """An audio file that cannot be used; the message names the file and why."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


NON_FINITE = "non-finite samples (NaN/Inf)"
MIN_SECONDS = 0.1  # shorter clips do not fill one STFT window of features (2048 samples at 16 kHz = 0.128 s)


@dataclass(frozen=True)
class AudioInfo:
    """What the manifest records of one decoded file, and what is suspect about it.

    ``flag`` names something worth a look that does not stop the file from
    being used (float samples beyond ±1.0), ``""`` when there is none.
    """

    duration_s: float
    sample_rate: int
    channels: int
    flag: str = ""


def read_samples(path: str | Path) -> tuple[np.ndarray, int]:
    """Every sample of a file: ``((samples, channels) float32, rate in Hz)``.

    Raises:
        AudioError: the file is missing, empty (0 bytes), truncated (its data chunk shorter than its header
            declares), unreadable, holds no samples, or holds non-finite samples (NaN or Inf, possible in
            float WAV and FLAC files); the reason says which.
    """
    if not Path(path).is_file():
        raise AudioError(path, "file not found")
    if Path(path).stat().st_size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    try:
        if _TRUNCATED.search(sf.info(str(path)).extra_info):
            raise AudioError(path, "truncated: the data chunk is shorter than its header declares")
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except sf.SoundFileError as err:
        raise AudioError(path, f"unreadable audio ({err})") from err
    if samples.shape[0] == 0:
        raise AudioError(path, "no audio samples (zero-length recording)")
    if not np.isfinite(samples).all():
        raise AudioError(path, NON_FINITE)
    return samples, int(rate)


def probe_audio(path: str | Path) -> AudioInfo:
    """Decode a file completely and describe it.

    Decoding everything (not only the header) is what finds a corrupt FLAC
    stream or a truncated WAV before training does.

    Raises:
        AudioError: empty (0 bytes), unreadable, truncated, without samples, with non-finite samples, digital
            silence (every sample 0), or shorter than :data:`MIN_SECONDS`; the reason says which.
    """
    samples, sample_rate = read_samples(path)
    duration = samples.shape[0] / sample_rate
    if duration < MIN_SECONDS:
        raise AudioError(path, f"{1000 * duration:.0f} ms long, shorter than one feature window ({MIN_SECONDS} s)")
    peak = float(np.abs(samples).max())
    if peak == 0:
        raise AudioError(path, "digital silence: every sample is 0")
    flag = f"float samples reach {peak:.2f}, beyond ±1.0: kept, check the file's scaling" if peak > 1.0 else ""
    return AudioInfo(duration, int(sample_rate), int(samples.shape[1]), flag)


def load_audio(path: str | Path, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Read a file as a mono waveform.

    Args:
        path: audio file in any format libsndfile decodes.
        sample_rate: target rate in Hz; ``None`` keeps the file's own rate.
            Resampling uses librosa's default (soxr, high quality).

    Returns:
        ``(waveform, rate)``: waveform of shape ``(samples,)``, float32 in
        [-1, 1], channels averaged; ``rate`` in Hz.

    Raises:
        AudioError: as :func:`read_samples`.
    """
    samples, rate = read_samples(path)
    waveform = samples.mean(axis=1)  # (samples,)
    if sample_rate is not None and rate != sample_rate:
        waveform = librosa.resample(waveform, orig_sr=rate, target_sr=sample_rate)
        rate = sample_rate
    return waveform.astype(np.float32, copy=False), int(rate)
