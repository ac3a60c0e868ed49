"""``serbench predict``: emotion labels of audio files from any deployable model of the suite.

Three kinds of model file are accepted, told apart by their suffix and metadata:

- ``.sbq``: a packed model of the quantization study (float32 or any quantized variant), whose header says how its
  features were made (:class:`serbench.studies.quantization.predict.PackedPredictor`); a file is one utterance;
- ``.onnx`` of the DistilHuBERT study (``model.onnx``, ``model.int8.onnx``), whose metadata holds its preprocessing;
  voice notes of any length are cut into windows after voice activity detection
  (:class:`serbench.studies.distilhubert.predict.OnnxPredictor`);
- ``.onnx`` of the self-distillation study (``<variant>.int8.onnx``, every exit in one graph), read at one exit
  (:class:`serbench.studies.selfdistill.predict.ExitsPredictor`); a file is one utterance.

``--model`` may also name a row of ``deployment.csv`` as ``<csv>:<row>`` (rows counted from 1, as the ``row``
column of ``deployment.md`` shows them): the row's ``model_file`` at its ``exit``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd

from serbench.errors import InputError

ACCEPTED = (
    "a packed model of the quantization study (.sbq), an exported DistilHuBERT or self-distillation model (.onnx), "
    "or a row of deployment.csv (results/tables/deployment.csv:<row>)"
)
ROW = re.compile(r"(?P<csv>.+\.csv):(?P<row>\d+)")


def deployment_row(table: str | Path, row: int) -> tuple[Path, str | None]:
    """The model file and exit of row ``row`` (from 1) of a ``deployment.csv``; the file is resolved against the
    CSV's folder (:func:`serbench.studies.deployment.write_deployment` writes it so).

    Raises:
        InputError: no such table or row, or a row whose study keeps no servable file (the row named).
    """
    if not Path(table).is_file():
        raise InputError(f"{table}: no such file; make it with snakemake deployment")
    rows = pd.read_csv(table, dtype={"exit": str})
    if not 1 <= row <= len(rows):
        raise InputError(f"{table}: no row {row}; it has rows 1 to {len(rows)}")
    chosen = rows.iloc[row - 1]
    if "model_file" not in rows or pd.isna(chosen["model_file"]):
        raise InputError(
            f"{table}: row {row} ({chosen['study']} {chosen['model']} {chosen['variant']}) has no model file "
            "serbench predict can serve; pick a row with a model_file"
        )
    exit_ = chosen.get("exit")
    return Path(table).parent / chosen["model_file"], None if pd.isna(exit_) else str(exit_)


def load_predictor(model: str | Path, exit: str | None = None):
    """The predictor for ``model`` (a file, or ``<csv>:<row>`` of ``deployment.csv``) by its suffix and metadata;
    ``exit`` picks a self-distillation model's exit (default: the row's, else the teacher).

    Raises:
        InputError: no such file or row, another suffix, a file of the right suffix that is not such a model, or an
            exit given for a model without exits.
    """
    named = ROW.fullmatch(str(model))
    path, row_exit = deployment_row(named["csv"], int(named["row"])) if named else (Path(model), None)
    exit = exit or row_exit
    if not path.is_file():
        raise InputError(f"{path}: no such file; serbench predict takes {ACCEPTED}")
    if path.suffix == ".sbq" and exit is None:
        from serbench.studies.quantization.predict import PackedPredictor

        return PackedPredictor(path)
    if path.suffix == ".onnx":
        from serbench.ssl.onnx_export import onnx_metadata, onnx_session
        from serbench.studies.distilhubert.predict import OnnxPredictor
        from serbench.studies.selfdistill.predict import ExitsPredictor, is_exits_model

        try:
            session = onnx_session(path)
        except Exception as err:  # onnxruntime raises its own exception types
            raise InputError(f"{path}: not a loadable ONNX model ({err}); serbench predict takes {ACCEPTED}") from err
        metadata = onnx_metadata(session)
        if is_exits_model(metadata):
            return ExitsPredictor(session, metadata, path, exit)
        if exit is None:
            return OnnxPredictor(path, session)  # the session opened here: the model is loaded once
    if exit is not None:
        raise InputError(f"{path}: --exit {exit} is for a self-distillation model (<variant>.int8.onnx)")
    raise InputError(f"{path}: serbench predict takes {ACCEPTED}")


def predict_files(audio: list[str], model: str, exit: str | None = None) -> int:
    """Per file, a line with its predicted label and the mean probabilities in the model's class order, then (for
    a windowed model) one indented line per window; or why it was skipped. Says first when the model's weights
    are random.

    Returns:
        The exit status: 0 when every file was classified, 1 when some were not (each named on stderr).

    Raises:
        InputError: a model that cannot be used (see :func:`load_predictor`), or no file could be classified.
    """
    predictor = load_predictor(model, exit)
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
