"""Audio decoding: any format libsndfile reads (WAV, FLAC, OGG...), to mono float32."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

AUDIO_EXTENSIONS: frozenset[str] = frozenset({".wav", ".flac", ".ogg", ".aiff", ".aif"})

# libsndfile writes "data : 32000 (should be 15978)" into its log when a WAV's
# data chunk promises more bytes than the file holds.
_TRUNCATED = re.compile(r"^data\s*:.*should be", re.MULTILINE)


class AudioError(ValueError):
    """An audio file that cannot be used; the message names the file and why."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass(frozen=True)
class AudioInfo:
    """What the manifest records of one decoded file."""

    duration_s: float
    sample_rate: int
    channels: int


def probe_audio(path: str | Path) -> AudioInfo:
    """Decode a file completely and describe it.

    Decoding everything (not only the header) is what finds a corrupt FLAC
    stream or a truncated WAV before training does.

    Raises:
        AudioError: unreadable, truncated, or without samples.
    """
    try:
        info = sf.info(str(path))
        if _TRUNCATED.search(info.extra_info):
            raise AudioError(path, "truncated: the data chunk is shorter than its header declares")
        samples, sample_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except sf.SoundFileError as err:
        raise AudioError(path, f"unreadable audio ({err})") from err
    if samples.shape[0] == 0:
        raise AudioError(path, "no audio samples (zero-length recording)")
    return AudioInfo(samples.shape[0] / sample_rate, int(sample_rate), int(samples.shape[1]))


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
        AudioError: the file cannot be decoded or holds no samples.
    """
    try:
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except sf.SoundFileError as err:
        raise AudioError(path, f"unreadable audio ({err})") from err
    if samples.shape[0] == 0:
        raise AudioError(path, "no audio samples (zero-length recording)")
    waveform = samples.mean(axis=1)  # (samples,)
    if sample_rate is not None and rate != sample_rate:
        waveform = librosa.resample(waveform, orig_sr=rate, target_sr=sample_rate)
        rate = sample_rate
    return waveform.astype(np.float32, copy=False), int(rate)
