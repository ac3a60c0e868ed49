"""Utterance-level MFCC + Chroma + Mel features (Shinde et al. 2024, Sec. 3).

The 180 values per utterance are the time-means of 40 MFCCs, 12 chroma bins and
128 mel bands, in librosa's definitions (the ones the SER literature uses:
``mfcc(y)``, ``chroma_stft(S=|STFT|)``, ``melspectrogram(y)``). The STFT is
computed once per utterance and all three are derived from it, which gives the
same numbers as three separate librosa calls at a third of the STFT cost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import pandas as pd

from serbench.audio import AudioError, load_audio

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeatureConfig:
    """Feature settings (config key ``features``).

    Attributes:
        sample_rate: audio is resampled to this rate, Hz (default 16000).
        n_fft: STFT window and FFT size, samples (default 2048, librosa's).
        hop_length: STFT hop, samples (default 512, librosa's).
        n_mfcc: MFCCs (default 40).
        n_chroma: chroma bins (default 12).
        n_mels: mel bands (default 128).
    """

    sample_rate: int = 16000
    n_fft: int = 2048
    hop_length: int = 512
    n_mfcc: int = 40
    n_chroma: int = 12
    n_mels: int = 128

    @property
    def dim(self) -> int:
        """Values per frame or utterance (180 by default)."""
        return self.n_mfcc + self.n_chroma + self.n_mels


def frame_features(waveform: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Per-frame MFCC, chroma and mel values from one STFT.

    Args:
        waveform: mono audio of shape ``(samples,)`` at ``cfg.sample_rate``.
        cfg: feature settings.

    Returns:
        Array of shape ``(frames, cfg.dim)``: columns ``[0, n_mfcc)`` MFCC,
        then chroma, then mel power; float32.
    """
    magnitude = np.abs(librosa.stft(waveform, n_fft=cfg.n_fft, hop_length=cfg.hop_length))  # (1+n_fft/2, frames)
    mel = librosa.feature.melspectrogram(S=magnitude**2, sr=cfg.sample_rate, n_mels=cfg.n_mels)  # (n_mels, frames)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=cfg.n_mfcc)  # (n_mfcc, frames)
    chroma = librosa.feature.chroma_stft(
        S=magnitude, sr=cfg.sample_rate, n_chroma=cfg.n_chroma, n_fft=cfg.n_fft, hop_length=cfg.hop_length
    )  # (n_chroma, frames)
    return np.concatenate([mfcc, chroma, mel]).T.astype(np.float32)


def utterance_features(waveform: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Time-mean of :func:`frame_features`: shape ``(cfg.dim,)``, float32."""
    return frame_features(waveform, cfg).mean(axis=0)


def extract_corpus(manifest: pd.DataFrame, cfg: FeatureConfig) -> tuple[list[str], list[np.ndarray]]:
    """Frame-level features for every row of a manifest, one STFT per utterance.

    A file that no longer decodes is logged by path and left out.

    Returns:
        ``(utterance_ids, frames)``: one ``(frames_i, cfg.dim)`` array per utterance.
    """
    ids, frames = [], []
    for utterance_id, path in zip(manifest["utterance_id"], manifest["path"]):
        try:
            waveform, _ = load_audio(path, cfg.sample_rate)
        except AudioError as err:
            log.warning("skipped %s", err)
            continue
        ids.append(utterance_id)
        frames.append(frame_features(waveform, cfg))
    return ids, frames
