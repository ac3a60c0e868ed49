"""Waveform preparation for self-supervised encoders.

``ismail`` (Ismail, Sec. III-B): 16 kHz mono, leading and trailing silence trimmed at 20 dB below peak,
pre-emphasis ``H(z) = 1 - 0.97 z^-1``, peak-normalised to 0.95, cut to 8.0 s. ``raw`` (the self-distillation
authors' code): 16 kHz mono as read, nothing else. The cache keeps each utterance at its own length; padding or
tiling happens where batches are formed.
"""

from __future__ import annotations

import logging

import librosa
import numpy as np
import pandas as pd

from serbench.audio import AudioError, load_audio
from serbench.settings.ssl import WaveformSettings

log = logging.getLogger(__name__)


def prepare_waveform(waveform: np.ndarray, cfg: WaveformSettings) -> np.ndarray:
    """Trim, pre-emphasise, peak-normalise and cut one waveform.

    Args:
        waveform: mono ``(samples,)`` at ``cfg.sample_rate``.

    Returns:
        float32 ``(samples',)`` with ``samples' <= max_seconds * sample_rate``.

    Raises:
        ValueError: the waveform is silent (all zeros) or empty after trimming.
    """
    trimmed, _ = librosa.effects.trim(waveform, top_db=cfg.trim_db)
    if trimmed.size == 0 or not np.any(trimmed):
        raise ValueError("silent recording: nothing left after trimming")
    normalised = emphasise_and_normalise(trimmed, cfg.pre_emphasis, cfg.peak)
    return normalised[: int(cfg.max_seconds * cfg.sample_rate)]


def emphasise_and_normalise(waveform: np.ndarray, pre_emphasis: float, peak: float) -> np.ndarray:
    """Pre-emphasis ``1 - pre_emphasis·z^-1`` (0: none), then scaling to ``peak`` absolute amplitude; float32.

    An all-zero waveform stays zero.

    >>> emphasise_and_normalise(np.array([0.0, 0.5, 0.5]), 0.0, 0.95).tolist()
    [0.0, 0.949999988079071, 0.949999988079071]
    """
    emphasised = librosa.effects.preemphasis(waveform, coef=pre_emphasis) if pre_emphasis else waveform
    top = np.abs(emphasised).max()
    return (peak * emphasised / top if top > 0 else emphasised).astype(np.float32)


def prepare_corpus(
    manifest: pd.DataFrame, cfg: WaveformSettings, preparation: str = "ismail"
) -> tuple[list[str], list[np.ndarray]]:
    """Waveforms of every manifest row, ``ismail`` (:func:`prepare_waveform`) or ``raw``; an unusable file is
    logged by path and left out.

    Raises:
        ValueError: an unknown ``preparation``.
    """
    if preparation not in ("ismail", "raw"):
        raise ValueError(f"unknown waveform preparation {preparation!r}; expected 'ismail' or 'raw'")
    ids, waveforms = [], []
    for utterance_id, path in zip(manifest["utterance_id"], manifest["path"]):
        try:
            waveform, _ = load_audio(path, cfg.sample_rate)
            waveforms.append(
                prepare_waveform(waveform, cfg) if preparation == "ismail" else waveform.astype(np.float32)
            )
        except (AudioError, ValueError) as err:
            log.warning("skipped %s: %s", path, err)
            continue
        ids.append(utterance_id)
    return ids, waveforms


def pad_batch(waveforms: list[np.ndarray], min_samples: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Zero-pad waveforms to the longest (at least ``min_samples``): ``(batch, samples)`` float32, ``(batch,)`` lengths.

    A floor on the padded length leaves an encoder's time masking room on short clips.

    >>> batch, lengths = pad_batch([np.ones(2), np.ones(3)])
    >>> batch.tolist(), lengths.tolist()
    ([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]], [2, 3])
    >>> pad_batch([np.ones(2)], min_samples=4)[0].tolist()
    [[1.0, 1.0, 0.0, 0.0]]
    """
    lengths = np.array([len(w) for w in waveforms])
    batch = np.zeros((len(waveforms), max(lengths.max(), min_samples)), dtype=np.float32)
    for row, waveform in enumerate(waveforms):
        batch[row, : len(waveform)] = waveform
    return batch, lengths
