"""Emotion labels from a self-distillation model as deployed: the int8 ONNX graph of every exit and the teacher
(written by :func:`serbench.studies.selfdistill.deploy.int8_exits`), read at the exit the user names.

A file is one utterance, prepared as the study prepared its training clips, every setting read from the model's
metadata: 16 kHz, raw (the authors' code) or trimmed, pre-emphasised, peak-normalised and cut (Ismail's
preparation), then tiled or cut to the training clip length when the study tiled its batches (Ren et al.'s
``audio_unify``). The graph computes every exit; the chosen exit's logits give the label.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.special import softmax

from serbench.audio import load_audio
from serbench.errors import InputError
from serbench.settings.ssl import WaveformSettings
from serbench.ssl.encoders import SAMPLE_RATE
from serbench.ssl.waveforms import prepare_waveform
from serbench.studies.selfdistill.training import tile

METADATA = ("classes", "exits", "preparation", "waveform", "batching", "clip_seconds")
TEACHER = "teacher"


def is_exits_model(metadata: dict) -> bool:
    """Whether an ONNX model's ``serbench`` metadata is a self-distillation model's (it lists exits).

    >>> is_exits_model({"exits": ["3", "teacher"]}), is_exits_model({"classes": ["anger"]})
    (True, False)
    """
    return "exits" in metadata


class ExitsPredictor:
    """A deployed self-distillation model at one exit (``exit``: an exit layer as a string, e.g. ``"3"``, or
    ``"teacher"``, the default); :meth:`probabilities` classifies one file.

    Raises:
        InputError: a key of :data:`METADATA` is missing (named), or the model has no such exit (the message lists
            its exits).
    """

    window_seconds = None

    def __init__(self, session, metadata: dict, path: str | Path, exit: str | None = None):
        missing = [key for key in METADATA if key not in metadata]
        if missing:
            raise InputError(
                f"{path}: no {missing[0]!r} in the model's metadata; use results/selfdistill/<upstream>/onnx/"
                "<variant>.int8.onnx"
            )
        chosen = exit or TEACHER
        if chosen not in metadata["exits"]:
            raise InputError(f"{path}: no exit {chosen!r}; the model's exits are {', '.join(metadata['exits'])}")
        self.session, self.metadata = session, metadata
        self.index, self.exit = metadata["exits"].index(chosen), chosen
        self.classes = metadata["classes"]
        self.random_init = bool(metadata.get("random_init"))
        self.waveform = WaveformSettings(**metadata["waveform"])

    def clip(self, path: str | Path) -> np.ndarray:
        """One file prepared as the study's training clips: float32 ``(samples,)`` at 16 kHz.

        Raises:
            InputError: unreadable audio, or silent after trimming (the file named).
        """
        waveform, _ = load_audio(path, SAMPLE_RATE)  # AudioError names the file
        if self.metadata["preparation"] == "ismail":
            try:
                waveform = prepare_waveform(waveform, self.waveform)
            except ValueError as err:
                raise InputError(f"{path}: {err}") from err
        if waveform.size == 0:
            raise InputError(f"{path}: no samples")
        if self.metadata["batching"] == "tile":
            waveform = tile(waveform, int(round(self.metadata["clip_seconds"] * SAMPLE_RATE)))
        return waveform.astype(np.float32)

    def probabilities(self, path: str | Path) -> np.ndarray:
        """Class probabilities at the chosen exit, ``(1, classes)`` in the model's class order."""
        logits = self.session.run(None, {"waveform": self.clip(path)[None, :]})[0]  # (exits + 1, 1, classes)
        return softmax(logits[self.index], axis=1)
