"""Emotion labels of audio files from a packed model of the quantization study, inputs made as in its training.

A packed file (``fp32.sbq`` or any quantized variant) carries what ``serbench predict`` needs in its header: the
classes, and under ``inputs`` the feature set with its settings, the frames a sequence model keeps and the
features' normalisation (:func:`serbench.studies.quantization.train_step.train_cell`). Each file is one utterance, as
in training: its features are computed whole and classified once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from serbench.audio import load_audio
from serbench.errors import InputError
from serbench.settings.quantization import FeatureExtractionSettings
from serbench.step_files import DamagedFileError
from serbench.studies.quantization.latency import clip_features, clip_inputs
from serbench.studies.quantization.models import model_class
from serbench.studies.quantization.packing import load_packed


class PackedPredictor:
    """A packed model and how its inputs are made; :meth:`probabilities` classifies one audio file.

    Raises (constructor):
        InputError: the file is not a packed model, predates the ``inputs`` header, or was trained on
            features standardised per speaker or corpus (statistics a single file does not have).
    """

    window_seconds = None  # a file is one utterance: no windows

    def __init__(self, path: str | Path):
        try:
            self.model, header = load_packed(path)
        except DamagedFileError as err:
            raise InputError(f"{path}: not a packed model of the quantization study ({err})") from err
        inputs = header.get("inputs") or {}
        if not inputs.get("features"):
            raise InputError(f"{path}: its header does not say how its features were made; retrain it")
        if inputs["normalise"] != "none":
            raise InputError(
                f"{path}: trained on features standardised per {inputs['normalise']}, which one file cannot give; "
                "use a model of the random or speaker_independent protocol"
            )
        settings = dict(inputs["features"])
        self.feature_set, self.features = settings.pop("set"), FeatureExtractionSettings.from_params(settings)
        self.max_frames, self.classes = inputs["max_frames"], header["classes"]
        self.input_level = model_class(header["model"]).input_level
        self.random_init = False

    def probabilities(self, path: str | Path) -> np.ndarray:
        """Class probabilities of one audio file, ``(1, classes)`` in :attr:`classes` order.

        Raises:
            InputError: audio that cannot be read or decoded (named).
        """
        try:
            waveform, _ = load_audio(path, self.features.sample_rate)
        except ValueError as err:
            raise InputError(str(err)) from err
        utterance, frames = clip_features(waveform, self.feature_set, self.features)
        with torch.inference_mode():
            scores = self.model(*clip_inputs(utterance, frames, self.input_level, self.max_frames))
        return torch.softmax(scores, dim=1).numpy()
