"""Training-time waveform augmentation (Ismail, Sec. III-B).

Random gain in [-18, +6] dB, additive Gaussian noise of amplitude (std) in
[0.001, 0.015], pitch shift within ±2 semitones and polarity inversion, each
applied with its own probability, drawn from a seeded generator.
"""

from __future__ import annotations

import librosa
import numpy as np

from serbench.settings.ssl import AugmentSettings


def augment(waveform: np.ndarray, sample_rate: int, cfg: AugmentSettings, rng: np.random.Generator) -> np.ndarray:
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
