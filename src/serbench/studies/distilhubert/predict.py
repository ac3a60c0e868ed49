"""Emotion labels for voice notes of any length (Ismail, Sec. V-C deployment design), as the model was deployed.

Voice activity detection (Silero VAD, shipped in the ``silero-vad`` package) keeps the voiced audio; it is cut
into windows of the length the model was trained with, each window is prepared as in training (pre-emphasis, peak
normalisation) and classified by the exported ONNX model; the note's label comes from the mean of the window
probabilities. Every preprocessing setting is read from the model's metadata (written by
:func:`serbench.studies.distilhubert.deploy.deploy`); a model without one is refused, naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from scipy.special import softmax

from serbench.audio import load_audio
from serbench.errors import InputError
from serbench.ssl.onnx_export import onnx_metadata, onnx_session, run_onnx
from serbench.ssl.waveforms import emphasise_and_normalise

VAD_RATE = 16000  # Hz, Silero VAD's rate; the model's own rate must match it
PREPROCESSING = ("sample_rate", "max_seconds", "pre_emphasis", "peak")


class PredictionError(InputError):
    """A file that cannot be classified, or a model that cannot classify; the message names it and why."""


@dataclass(frozen=True)
class PredictConfig:
    """Preprocessing and windowing, from the model's metadata.

    Attributes:
        sample_rate: Hz the model takes.
        window_seconds: window length, s (the training clips' ``max_seconds``).
        pre_emphasis: coefficient used in training.
        peak: peak amplitude used in training.
        min_speech_seconds: voiced audio needed to classify a file, s.
        min_window_seconds: a trailing window shorter than this is dropped (kept when it is the only one), s.
    """

    sample_rate: int
    window_seconds: float
    pre_emphasis: float
    peak: float
    min_speech_seconds: float = 0.5
    min_window_seconds: float = 1.0

    @classmethod
    def from_metadata(cls, metadata: dict, path: str | Path) -> PredictConfig:
        """The settings stored in a deployed model's metadata.

        Raises:
            PredictionError: a key is missing (named), or the sample rate is not Silero VAD's.
        """
        missing = [key for key in PREPROCESSING if key not in metadata]
        if missing:
            raise PredictionError(
                f"{path}: no {missing[0]!r} in the model's metadata; export it again with the study "
                f"(results/distilhubert/<upstream>/onnx/model.int8.onnx)"
            )
        if metadata["sample_rate"] != VAD_RATE:
            raise PredictionError(f"{path}: sample_rate {metadata['sample_rate']} Hz; voice detection needs {VAD_RATE}")
        return cls(metadata["sample_rate"], metadata["max_seconds"], metadata["pre_emphasis"], metadata["peak"])


@lru_cache(maxsize=1)
def _vad_model():
    """Silero VAD, loaded once per process (it ships in the silero-vad package)."""
    from silero_vad import load_silero_vad

    return load_silero_vad()


def voiced_audio(waveform: np.ndarray) -> np.ndarray:
    """The speech segments Silero VAD finds in a 16 kHz waveform, concatenated: ``(voiced samples,)``."""
    from silero_vad import get_speech_timestamps

    stamps = get_speech_timestamps(torch.from_numpy(waveform), _vad_model(), sampling_rate=VAD_RATE)
    if not stamps:
        return waveform[:0]
    return np.concatenate([waveform[s["start"] : s["end"]] for s in stamps])


def windows(voiced: np.ndarray, cfg: PredictConfig) -> list[np.ndarray]:
    """Consecutive ``window_seconds`` windows; a short trailing one is kept only if it is the first.

    >>> [len(w) for w in windows(np.zeros(20 * 16000), PredictConfig(16000, 8.0, 0.97, 0.95))]
    [128000, 128000, 64000]
    """
    size = int(cfg.window_seconds * cfg.sample_rate)
    parts = [voiced[start : start + size] for start in range(0, len(voiced), size)]
    return [p for i, p in enumerate(parts) if i == 0 or len(p) >= cfg.min_window_seconds * cfg.sample_rate]


def predict_file(path: str | Path, session, cfg: PredictConfig) -> np.ndarray:
    """Class probabilities of every voiced window of one file, ``(windows, classes)`` in the model's class order.

    Raises:
        PredictionError: unreadable audio, no speech, or less than
            ``min_speech_seconds`` of speech.
    """
    try:
        waveform, _ = load_audio(path, cfg.sample_rate)
    except ValueError as err:
        raise PredictionError(str(err)) from err
    voiced = voiced_audio(waveform)
    if voiced.size == 0:
        raise PredictionError(f"{path}: no speech found (silence or noise only)")
    if voiced.size < cfg.min_speech_seconds * cfg.sample_rate:
        raise PredictionError(
            f"{path}: too short: {voiced.size / cfg.sample_rate:.2f} s of speech, need at least "
            f"{cfg.min_speech_seconds} s"
        )
    prepared = [emphasise_and_normalise(w, cfg.pre_emphasis, cfg.peak) for w in windows(voiced, cfg)]
    return softmax(np.stack([run_onnx(session, w) for w in prepared]), axis=1)  # (windows, classes)


def load_model(path: str | Path, session=None):
    """An exported model (``model.onnx`` or ``model.int8.onnx``), its class names, preprocessing and metadata;
    ``session``: the model's ONNX Runtime session where the caller has opened it already.

    Raises:
        PredictionError: the file is not an ONNX model written by the study, or lacks a metadata key (named).
    """
    if session is None:
        try:
            session = onnx_session(path)
        except Exception as err:  # onnxruntime raises its own exception types
            raise PredictionError(f"{path}: not a loadable ONNX model ({err})") from err
    metadata = onnx_metadata(session)
    if not metadata.get("classes"):
        raise PredictionError(f"{path}: no 'classes' in the model's metadata; use model.onnx or model.int8.onnx")
    return session, metadata["classes"], PredictConfig.from_metadata(metadata, path), metadata


class OnnxPredictor:
    """An exported model with its preprocessing (:func:`load_model`); :meth:`probabilities` classifies one voice
    note window by window."""

    def __init__(self, path: str | Path, session=None):
        self.session, self.classes, self.config, metadata = load_model(path, session)
        self.window_seconds = self.config.window_seconds
        self.random_init = bool(metadata.get("random_init"))

    def probabilities(self, path: str | Path) -> np.ndarray:
        """:func:`predict_file`: ``(windows, classes)``."""
        return predict_file(path, self.session, self.config)
