"""``serbench predict``: emotion labels of audio files from any deployable model of the suite.

Two kinds of model file are accepted, told apart by their suffix:

- ``.sbq``: a packed model of the quantization study (float32 or any quantized variant), whose header says how its
  features were made (:class:`serbench.studies.quantization.predict.PackedPredictor`); a file is one utterance;
- ``.onnx``: an exported waveform model of the DistilHuBERT study (``model.onnx``, ``model.int8.onnx``), whose
  metadata holds its preprocessing; voice notes of any length are cut into windows after voice activity detection
  (:class:`serbench.studies.distilhubert.predict.OnnxPredictor`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from serbench.errors import InputError

ACCEPTED = "a packed model of the quantization study (.sbq) or an exported DistilHuBERT-study model (.onnx)"


def load_predictor(model: str | Path):
    """The predictor for ``model`` by its suffix.

    Raises:
        InputError: no such file, another suffix, or a file of the right suffix that is not such a model.
    """
    path = Path(model)
    if not path.is_file():
        raise InputError(f"{path}: no such file; serbench predict takes {ACCEPTED}")
    if path.suffix == ".sbq":
        from serbench.studies.quantization.predict import PackedPredictor

        return PackedPredictor(path)
    if path.suffix == ".onnx":
        from serbench.studies.distilhubert.predict import OnnxPredictor

        return OnnxPredictor(path)
    raise InputError(f"{path}: serbench predict takes {ACCEPTED}")


def predict_files(audio: list[str], model: str) -> int:
    """Per file, a line with its predicted label and the mean probabilities in the model's class order, then (for
    a windowed model) one indented line per window; or why it was skipped. Says first when the model's weights
    are random.

    Returns:
        The exit status: 0 when every file was classified, 1 when some were not (each named on stderr).

    Raises:
        InputError: a model that cannot be used (see :func:`load_predictor`), or no file could be classified.
    """
    predictor = load_predictor(model)
    if predictor.random_init:
        print(f"warning: {model} was built on an encoder with random weights; its labels mean nothing", file=sys.stderr)
    classes, failures = predictor.classes, 0
    for path in audio:
        try:
            probabilities = predictor.probabilities(path)  # (windows, classes)
        except InputError as err:
            failures += 1
            print(f"{path}\terror: {err}", file=sys.stderr)
            continue
        mean = probabilities.mean(axis=0)
        print(f"{path}\t{classes[mean.argmax()]}\t" + "\t".join(f"{c}={p:.3f}" for c, p in zip(classes, mean)))
        for i, window in enumerate(probabilities if predictor.window_seconds else []):
            print(f"  window {i + 1} ({i * predictor.window_seconds:.0f} s of speech on)\t{classes[window.argmax()]}")
    if failures == len(audio):
        raise InputError(f"none of the {len(audio)} files could be classified")
    return 1 if failures else 0
