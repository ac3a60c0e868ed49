"""Frame- and utterance-level MFCC + Chroma + Mel features (Shinde et al. 2024, Sec. 3), batched.

The 180 values per frame are 40 MFCCs, 12 chroma bins and 128 mel bands in
librosa's definitions (the ones the SER literature uses: ``mfcc(y)``,
``chroma_stft(S=|STFT|)``, ``melspectrogram(y)``); an utterance's features are
their time-means. Instead of three librosa calls (three STFTs) per file, one
torch STFT runs on a zero-padded batch of utterances and librosa's filterbanks
(mel, chroma, DCT-II) are applied as matrices. Chroma needs librosa's
per-utterance tuning estimate (``estimate_tuning``: parabolic peak picking as
``piptrack``, a histogram of deviations in cents); it is computed here on the
whole batch with the same arithmetic, so no numba gufunc runs (their on-disk
cache is not safe for concurrent jobs, numba issue #10128). Every value
matches librosa's to 1e-4 (``tests/quantization/test_features.py``).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
import pandas as pd
import torch

from serbench.audio import AudioError, load_audio
from serbench.progress import progress
from serbench.settings.quantization import FeatureExtractionSettings

log = logging.getLogger(__name__)

BATCH_SECONDS = 120.0  # audio per STFT batch, s: bounds the (batch, bins, frames) spectrogram at ~0.5 GB
# librosa.estimate_tuning's defaults (piptrack's fmin, fmax, threshold; 0.01-bin resolution).
TUNING_FMIN_HZ, TUNING_FMAX_HZ, TUNING_THRESHOLD, TUNING_RESOLUTION = 150.0, 4000.0, 0.1, 0.01


@lru_cache(maxsize=8)
def _matrices(cfg: FeatureExtractionSettings) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """librosa's mel filterbank ``(n_mels, bins)`` float32, the orthonormal DCT-II ``(n_mfcc, n_mels)`` float32
    and the periodic Hann window ``(n_fft,)`` float64 (scipy's, as librosa.stft uses)."""
    import librosa
    import scipy.fft

    mel = librosa.filters.mel(sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels)
    dct = scipy.fft.dct(np.eye(cfg.n_mels, dtype=np.float32), type=2, norm="ortho", axis=0)[: cfg.n_mfcc]
    window = librosa.filters.get_window("hann", cfg.n_fft, fftbins=True)
    return torch.from_numpy(mel), torch.from_numpy(np.ascontiguousarray(dct)), torch.from_numpy(window)


@lru_cache(maxsize=256)
def _chroma_filters(cfg: FeatureExtractionSettings, tuning: float) -> torch.Tensor:
    """librosa's chroma filterbank for one tuning (fractions of a bin): ``(n_chroma, bins)`` float32."""
    import librosa

    return torch.from_numpy(
        librosa.filters.chroma(sr=cfg.sample_rate, n_fft=cfg.n_fft, tuning=tuning, n_chroma=cfg.n_chroma)
    )


def peak_pitches(magnitude: torch.Tensor, cfg: FeatureExtractionSettings) -> tuple[torch.Tensor, torch.Tensor]:
    """librosa ``piptrack`` on a batch: pitch (Hz) and magnitude of each frame's parabolic peaks, 0 elsewhere.

    Args:
        magnitude: ``(batch, bins, frames)`` float32 |STFT|.

    Returns:
        ``(pitches, magnitudes)``, both ``(batch, bins, frames)``.
    """
    s = magnitude
    thresholded = s * (s > TUNING_THRESHOLD * s.amax(dim=1, keepdim=True))
    local_max = torch.zeros_like(s, dtype=torch.bool)
    local_max[:, 1:-1] = (thresholded[:, 1:-1] > thresholded[:, :-2]) & (thresholded[:, 1:-1] >= thresholded[:, 2:])
    frequencies = torch.arange(s.shape[1], dtype=torch.float64) * cfg.sample_rate / cfg.n_fft
    # fmin > 0 and f < Nyquist keep the first and last bins out, so every peak has two neighbours
    feasible = (frequencies >= TUNING_FMIN_HZ) & (frequencies < min(TUNING_FMAX_HZ, cfg.sample_rate / 2))
    row, k, frame = (local_max & feasible[None, :, None]).nonzero(as_tuple=True)
    left, centre, right = s[row, k - 1, frame], s[row, k, frame], s[row, k + 1, frame]
    # parabolic interpolation at the peaks only, in librosa's (numba's) precision: float32 sums, float64 quotients
    a = (right + left).double() - 2 * centre.double()
    b = (right - left).double() / 2
    shift = torch.where(b.abs() >= a.abs(), torch.zeros_like(a), -b / a).float()
    pitches, magnitudes = torch.zeros_like(s), torch.zeros_like(s)
    pitches[row, k, frame] = ((k.double() + shift.double()) * cfg.sample_rate / cfg.n_fft).float()
    magnitudes[row, k, frame] = centre + 0.5 * ((right - left) / 2) * shift
    return pitches, magnitudes


def pitch_tuning(pitches: np.ndarray, magnitudes: np.ndarray, n_chroma: int) -> float:
    """librosa ``estimate_tuning`` from one utterance's peak pitches and magnitudes (any matching shapes).

    Keeps peaks at least as strong as the median peak, takes each one's
    deviation from the equal-tempered scale (A4 = 440 Hz) in fractions of a
    bin, and returns the most frequent deviation at 0.01-bin resolution, in
    ``[-0.5, 0.5)`` (the left edge of the winning bin); 0.0 when there is no peak.
    441 Hz is 0.039 of a semitone sharp of A4; the weaker 440 Hz peak falls below the median:

    >>> round(pitch_tuning(np.array([440.0, 441.0, 0.0]), np.array([1.0, 2.0, 0.0]), 12), 2)
    0.03
    """
    voiced = pitches > 0
    if not voiced.any():
        return 0.0
    kept = pitches[(magnitudes >= np.median(magnitudes[voiced])) & voiced]
    residual = np.mod(n_chroma * np.log2(kept / (440.0 / 16)), 1.0)
    residual[residual >= 0.5] -= 1.0
    edges = np.linspace(-0.5, 0.5, int(np.ceil(1.0 / TUNING_RESOLUTION)) + 1)
    counts, _ = np.histogram(residual, edges)
    return float(edges[np.argmax(counts)])


def batch_features(waveforms: list[np.ndarray], cfg: FeatureExtractionSettings) -> list[np.ndarray]:
    """Per-frame MFCC, chroma and mel values of several utterances from one batched STFT.

    Args:
        waveforms: mono ``(samples_i,)`` float32 arrays at ``cfg.sample_rate``.
        cfg: feature settings.

    Returns:
        One float32 array ``(frames_i, cfg.dim)`` per utterance, ``frames_i = 1 + samples_i // hop_length``
        (librosa's centred framing): columns ``[0, n_mfcc)`` MFCC, then chroma, then mel power.
    """
    lengths = [1 + len(w) // cfg.hop_length for w in waveforms]
    batch = torch.zeros(len(waveforms), max(len(w) for w in waveforms))
    for row, waveform in enumerate(waveforms):
        batch[row, : len(waveform)] = torch.from_numpy(waveform)
    mel_basis, dct, window = _matrices(cfg)
    # As librosa.stft: librosa's window, float64 arithmetic rounded to complex64, numpy's |z|. The tuning
    # histogram can hinge on one count, so the magnitudes must be librosa's to the last bit where possible.
    spectrum = torch.stft(
        batch.double(), cfg.n_fft, cfg.hop_length, window=window, center=True, pad_mode="constant", return_complex=True
    ).to(torch.complex64)  # (batch, bins, frames)
    valid = torch.arange(spectrum.shape[2])[None, :] < torch.tensor(lengths)[:, None]  # (batch, frames)
    magnitude = torch.from_numpy(np.abs(spectrum.numpy())) * valid[:, None, :]
    mel = torch.matmul(mel_basis, magnitude**2)  # (batch, n_mels, frames)
    db = 10.0 * torch.log10(mel.clamp(min=1e-10))
    peak_db = db.masked_fill(~valid[:, None, :], float("-inf")).amax(dim=(1, 2), keepdim=True)
    mfcc = torch.matmul(dct, torch.maximum(db, peak_db - 80.0))  # power_to_db(top_db=80), then DCT-II
    pitches, peak_magnitudes = (t.numpy() for t in peak_pitches(magnitude, cfg))
    features = []
    for row, frames in enumerate(lengths):
        tuning = pitch_tuning(pitches[row, :, :frames], peak_magnitudes[row, :, :frames], cfg.n_chroma)
        chroma = _chroma_filters(cfg, tuning) @ magnitude[row, :, :frames]  # (n_chroma, frames)
        peak = chroma.amax(dim=0, keepdim=True)
        chroma = chroma / torch.where(peak < np.finfo(np.float32).tiny, 1.0, peak)
        stacked = torch.cat([mfcc[row, :, :frames], chroma, mel[row, :, :frames]]).T
        features.append(stacked.numpy().astype(np.float32, copy=True))
    return features


def extract_corpus(
    manifest: pd.DataFrame, cfg: FeatureExtractionSettings, threads: int = 1
) -> tuple[list[str], list[np.ndarray]]:
    """Frame-level features of every manifest row.

    Files are decoded and resampled on ``threads`` threads (libsndfile and
    soxr release the GIL), then sorted by length into batches of about
    :data:`BATCH_SECONDS` of audio for :func:`batch_features`, whose torch
    operations use the same threads. A file that no longer decodes is logged
    by path and left out.

    Returns:
        ``(utterance_ids, frames)`` in manifest order: one ``(frames_i, cfg.dim)`` array per kept utterance.
    """

    def decode(path: str) -> np.ndarray | None:
        try:
            return load_audio(path, cfg.sample_rate)[0]
        except AudioError as err:
            log.warning("skipped %s", err)
            return None

    torch.set_num_threads(threads)
    with ThreadPoolExecutor(threads) as pool:
        decoded = list(progress(pool.map(decode, manifest["path"]), "decode", "file", total=len(manifest)))
    kept = [i for i, waveform in enumerate(decoded) if waveform is not None]
    order = sorted(kept, key=lambda i: len(decoded[i]))
    frames: dict[int, np.ndarray] = {}
    start, budget = 0, int(BATCH_SECONDS * cfg.sample_rate)
    while start < len(order):
        stop = start + 1
        while stop < len(order) and (stop - start + 1) * len(decoded[order[stop]]) <= budget:
            stop += 1
        chunk = order[start:stop]
        frames.update(zip(chunk, batch_features([decoded[i] for i in chunk], cfg)))
        start = stop
    ids = manifest["utterance_id"].tolist()
    return [ids[i] for i in kept], [frames[i] for i in kept]
