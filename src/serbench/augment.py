"""Training-time waveform augmentation (Ismail, Sec. III-B).

Random gain in [-18, +6] dB, additive Gaussian noise of amplitude (std) in
[0.001, 0.015], pitch shift within ±2 semitones and polarity inversion, each
applied with its own probability, drawn from a seeded generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges (config key ``ssl.augment``); ranges as ``(low, high)``."""

    gain_probability: float = 0.5
    gain_db: tuple[float, float] = (-18.0, 6.0)
    noise_probability: float = 0.5
    noise_amplitude: tuple[float, float] = (0.001, 0.015)
    pitch_probability: float = 0.3
    pitch_semitones: tuple[float, float] = (-2.0, 2.0)
    polarity_probability: float = 0.5


def augment(waveform: np.ndarray, sample_rate: int, cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """One augmented copy of a waveform ``(samples,)``; same length, float32.

    The draws happen in a fixed order (gain, noise, pitch, polarity), so a
    generator seeded alike gives the same copy.
    """
    out = waveform.astype(np.float32, copy=True)
    if rng.random() < cfg.gain_probability:
        out *= np.float32(10 ** (rng.uniform(*cfg.gain_db) / 20))
    if rng.random() < cfg.noise_probability:
        out += rng.uniform(*cfg.noise_amplitude) * rng.standard_normal(out.size).astype(np.float32)
    if rng.random() < cfg.pitch_probability:
        out = librosa.effects.pitch_shift(out, sr=sample_rate, n_steps=rng.uniform(*cfg.pitch_semitones))
    if rng.random() < cfg.polarity_probability:
        out = -out
    return out.astype(np.float32, copy=False)
