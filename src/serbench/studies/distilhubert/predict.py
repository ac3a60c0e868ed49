"""Emotion probabilities for voice notes of any length (Ismail, Sec. V-C deployment design).

Voice activity detection (Silero VAD, shipped in the ``silero-vad`` package)
keeps the voiced audio; it is cut into 8-second windows, each window is
prepared as in training (pre-emphasis, peak normalisation) and classified by
the exported ONNX model, and the window probabilities are averaged.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from scipy.special import softmax

from serbench.audio import load_audio
from serbench.ssl.onnx_export import onnx_metadata, onnx_session, run_onnx
from serbench.ssl.waveforms import emphasise_and_normalise

SAMPLE_RATE = 16000


class PredictionError(ValueError):
    """A file that cannot be classified; the message names it and why."""


@dataclass(frozen=True)
class PredictConfig:
    """Windowing settings.

    Attributes:
        window_seconds: window length, s (8.0, as in training).
        min_speech_seconds: voiced audio needed to classify a file, s.
        min_window_seconds: a trailing window shorter than this is dropped
            (kept when it is the only one), s.
        pre_emphasis: coefficient used in training (0.97).
        peak: peak amplitude used in training (0.95).
    """

    window_seconds: float = 8.0
    min_speech_seconds: float = 0.5
    min_window_seconds: float = 1.0
    pre_emphasis: float = 0.97
    peak: float = 0.95


@lru_cache(maxsize=1)
def _vad_model():
    """Silero VAD, loaded once per process (it ships in the silero-vad package)."""
    from silero_vad import load_silero_vad

    return load_silero_vad()


def voiced_audio(waveform: np.ndarray) -> np.ndarray:
    """The speech segments Silero VAD finds in a 16 kHz waveform, concatenated: ``(voiced samples,)``."""
    from silero_vad import get_speech_timestamps

    stamps = get_speech_timestamps(torch.from_numpy(waveform), _vad_model(), sampling_rate=SAMPLE_RATE)
    if not stamps:
        return waveform[:0]
    return np.concatenate([waveform[s["start"] : s["end"]] for s in stamps])


def windows(voiced: np.ndarray, cfg: PredictConfig) -> list[np.ndarray]:
    """Consecutive ``window_seconds`` windows; a short trailing one is kept only if it is the first.

    >>> [len(w) for w in windows(np.zeros(20 * 16000), PredictConfig())]
    [128000, 128000, 64000]
    """
    size = int(cfg.window_seconds * SAMPLE_RATE)
    parts = [voiced[start : start + size] for start in range(0, len(voiced), size)]
    return [p for i, p in enumerate(parts) if i == 0 or len(p) >= cfg.min_window_seconds * SAMPLE_RATE]


def predict_file(path: str | Path, session, classes: list[str], cfg: PredictConfig) -> dict[str, float]:
    """Emotion -> mean probability over the voiced windows of one file.

    Raises:
        PredictionError: unreadable audio, no speech, or less than
            ``min_speech_seconds`` of speech.
    """
    try:
        waveform, _ = load_audio(path, SAMPLE_RATE)
    except ValueError as err:
        raise PredictionError(str(err)) from err
    voiced = voiced_audio(waveform)
    if voiced.size == 0:
        raise PredictionError(f"{path}: no speech found (silence or noise only)")
    if voiced.size < cfg.min_speech_seconds * SAMPLE_RATE:
        raise PredictionError(
            f"{path}: too short: {voiced.size / SAMPLE_RATE:.2f} s of speech, need at least {cfg.min_speech_seconds} s"
        )
    prepared = [emphasise_and_normalise(w, cfg.pre_emphasis, cfg.peak) for w in windows(voiced, cfg)]
    logits = np.stack([run_onnx(session, w) for w in prepared])  # (windows, classes)
    return dict(zip(classes, softmax(logits, axis=1).mean(axis=0).tolist()))


def load_model(path: str | Path):
    """An exported model (``model.onnx`` or ``model.int8.onnx``) and its class names.

    Raises:
        PredictionError: the file is not an ONNX model written by the study.
    """
    try:
        session = onnx_session(path)
    except Exception as err:  # onnxruntime raises its own exception types
        raise PredictionError(f"{path}: not a loadable ONNX model ({err})") from err
    classes = onnx_metadata(session).get("classes")
    if not classes:
        raise PredictionError(
            f"{path}: no class names in its metadata; use model.onnx or model.int8.onnx from the study"
        )
    return session, classes


def predict_files(audio: list[str], model: str) -> int:
    """``serbench predict``: print one line per file, its name and emotion probabilities, or why it was skipped.

    Returns:
        The exit status: 0 when every file was classified, 1 when some were not (each named on stderr).

    Raises:
        PredictionError: no file could be classified.
    """
    session, classes = load_model(model)
    failures = 0
    for path in audio:
        try:
            probabilities = predict_file(path, session, classes, PredictConfig())
        except PredictionError as err:
            failures += 1
            print(f"{path}\terror: {err}", file=sys.stderr)
            continue
        print(path + "\t" + "\t".join(f"{c}={p:.3f}" for c, p in probabilities.items()))
    if failures == len(audio):
        raise PredictionError(f"none of the {len(audio)} files could be classified")
    return 1 if failures else 0
