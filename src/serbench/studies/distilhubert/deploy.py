"""The study's 8-bit models, per upstream: int8 encoders (static, mixed, dynamic, dynamic_ffn_float) evaluated over
the test folds with their fidelity; then the deployable model, its scheme chosen by those measurements; sizes and
latency."""

from __future__ import annotations

import copy
import logging
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from serbench.atomic import write_json
from serbench.dataset import CorpusArrays, CorpusFiles
from serbench.folds import read_folds
from serbench.metrics import unweighted_average_recall
from serbench.settings.ssl import WaveformSettings
from serbench.ssl.encoders import Upstream
from serbench.ssl.latency import MB, LatencyRecord, int8_runtime
from serbench.ssl.onnx_export import INT8_KINDS, WaveformEncoder, export_onnx, mean_cosine, onnx_session, quantize_int8
from serbench.ssl.upstream import load_upstream, upstream_record
from serbench.step_files import read_json
from serbench.studies.distilhubert.head import head_probabilities
from serbench.studies.distilhubert.steps import load_head

log = logging.getLogger(__name__)
ENCODER_FILES = {
    "float": "encoder.onnx",
    "int8_static": "encoder.int8.onnx",
    "int8_dynamic": "encoder.int8_dynamic.onnx",
    "int8_mixed": "encoder.int8_mixed.onnx",
    "int8_dynamic_ffn_float": "encoder.int8_dynamic_ffn_float.onnx",
}


class Head(NamedTuple):
    """One trained head as the int8 and deploy steps read it: its file, its fold table, fold and seed."""

    path: str
    split: str
    fold: str
    seed: int


def evaluate_int8(
    pretrained: str,
    whisper_input: str,
    heads: list[Head],
    corpora: dict[str, CorpusFiles],
    out_dir: str,
    out_json: str,
    calibration_utterances: int = 32,
) -> None:
    """UA of every fold's model with a float and every int8 ONNX encoder, and their fidelity.

    Int8 schemes (:func:`serbench.ssl.onnx_export.quantize_int8`): ``static`` (whole encoder, calibrated on the
    first ``calibration_utterances`` training utterances of the head's own fold), ``mixed`` (static with float
    activations in the convolutional front-end), ``dynamic`` (MatMul/Gemm weights) and ``dynamic_ffn_float``
    (dynamic, the feed-forward down-projections float). A frozen study shares one
    encoder, exported once; a fine-tuned study (``distilhubert.finetune``) exports each head's own encoder.
    Fidelity is the mean over test utterances of the mean cosine similarity, frame by frame, of the last hidden
    states float vs int8.

    Args:
        pretrained, whisper_input: the upstream (:func:`~serbench.ssl.upstream.load_upstream`).
        heads: a :class:`Head` per trained head.
        corpora: manifest and prepared-waveform cache per corpus of the folds.
        out_dir: receives the first head's encoder as ``encoder.onnx`` and one file per int8 scheme.
        out_json: sizes (MB = 10^6 bytes), per-head UA and fidelity per scheme, and their means and stds.
    """
    base = load_upstream(pretrained, whisper_input=whisper_input)
    out = Path(out_dir)
    arrays = CorpusArrays(corpora, "waveforms")  # the waveform caches, read once for every head
    rows, shared = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for trained in heads:
            head, _, encoder_state = load_head(trained.path)
            data = arrays.split(read_folds(trained.split, trained.seed), trained.fold, trained.split)
            own = list(data.subsets["train"].features[:calibration_utterances])
            if shared is None:  # the first head's encoder: exported to out_dir, shared by a frozen study
                shared = _encoder_sessions(_with_state(base, encoder_state), out, own)
            later_fine_tuned = encoder_state is not None and rows  # a later head with its own encoder
            sessions = (
                _encoder_sessions(_with_state(base, encoder_state), Path(tmp), own) if later_fine_tuned else shared
            )
            test = data.subsets["test"]
            outputs = {kind: [session.run(None, _feed(w)) for w in test.features] for kind, session in sessions.items()}
            row = {"head": trained.path, "fold": trained.fold, "seed": trained.seed, "n_test": len(test.ids)}
            for kind, encoded in outputs.items():
                pooled = np.stack([pooled_states[0] for pooled_states, _ in encoded])
                row[f"uar_{kind}"] = unweighted_average_recall(test.labels, head_probabilities(head, pooled).argmax(1))
                if kind != "float":
                    row[f"cosine_{kind}"] = float(
                        np.mean([mean_cosine(f[1][0], q[1][0]) for f, q in zip(outputs["float"], encoded)])
                    )
            rows.append(row)
            log.info("int8 evaluation: %d/%d heads", len(rows), len(heads))
    summary = {
        **upstream_record(pretrained),
    }
    summary |= {"calibration_utterances": calibration_utterances}
    summary |= {f"encoder_{kind}_mb": (out / name).stat().st_size / MB for kind, name in ENCODER_FILES.items()}
    for key in [k for k in rows[0] if k.startswith(("uar_", "cosine_"))]:
        values = np.array([r[key] for r in rows])
        summary |= {f"{key}_mean": values.mean(), f"{key}_std": values.std(ddof=1) if len(rows) > 1 else 0.0}
    write_json(out_json, summary | {"heads": rows})


def choose_scheme(int8: dict, latency: LatencyRecord, max_uar_loss: float, requested: str = "measured") -> dict:
    """The int8 scheme to deploy, from the measurements: the fastest at 1 thread (or the fewest threads measured),
    by the fastest of the interleaved rounds (``RuntimeTiming.fastest_s``, robust to a machine loaded during part of
    the run), among the schemes that lose at most ``max_uar_loss`` of mean UA against float ONNX over the test folds
    and run faster than float ONNX; when none does, the one with the smallest UA loss, flagged. ``requested`` other
    than ``measured`` names the scheme outright.

    Returns:
        ``{"scheme", "rule_met", "uar_loss", "speedup_vs_onnx_float"}``; ``rule_met`` is ``None`` when requested.

    >>> int8 = {"uar_float_mean": 0.6, "uar_int8_static_mean": 0.5, "uar_int8_dynamic_mean": 0.58,
    ...         "uar_int8_dynamic_ffn_float_mean": 0.595, "uar_int8_mixed_mean": 0.596}
    >>> from serbench.ssl.latency import RuntimeTiming
    >>> fastest = {"onnx_float": 1.0, "onnx_int8_static": 0.3, "onnx_int8_dynamic": 0.5,
    ...            "onnx_int8_dynamic_ffn_float": 0.6, "onnx_int8_mixed": 0.7}
    >>> latency = LatencyRecord(1, 8.0, [1], 5, {r: RuntimeTiming(1.0, {}, {1: s}, {}) for r, s in fastest.items()})
    >>> choose_scheme(int8, latency, 0.01)["scheme"]
    'dynamic_ffn_float'
    """

    def seconds(name: str) -> float:
        return latency.runtime(name).fastest_s[latency.fewest_threads]

    loss = {kind: int8["uar_float_mean"] - int8[f"uar_int8_{kind}_mean"] for kind in INT8_KINDS}
    speedup = {kind: seconds("onnx_float") / seconds(int8_runtime(kind)) for kind in INT8_KINDS}
    if requested != "measured":
        chosen, met = requested, None
    else:
        qualifying = [kind for kind in INT8_KINDS if loss[kind] <= max_uar_loss and speedup[kind] > 1]
        met = bool(qualifying)
        chosen = max(qualifying, key=speedup.get) if qualifying else min(INT8_KINDS, key=loss.get)
    return {"scheme": chosen, "rule_met": met, "uar_loss": loss[chosen], "speedup_vs_onnx_float": speedup[chosen]}


def deploy(
    pretrained: str,
    waveform: WaveformSettings,
    head: Head,
    corpora: dict[str, CorpusFiles],
    int8_json: str,
    latency_json: str,
    deployed_int8: str,
    max_int8_uar_loss: float,
    calibration_utterances: int,
    out_dir: str,
    out_json: str,
) -> None:
    """``model.onnx`` and ``model.int8.onnx`` of one head with its encoder, calibrated on its own training
    utterances, in the scheme :func:`choose_scheme` picks from ``deployed_int8`` and ``max_int8_uar_loss``.

    The metadata carries what ``serbench predict`` needs: class names, every waveform preparation setting
    (sample rate, trim, pre-emphasis, peak, window length, Whisper input mode), the upstream, whether its weights
    are random, and the int8 scheme with the measurements that chose it.
    """
    upstream = load_upstream(pretrained, whisper_input=waveform.whisper_input)
    model, classes, state = load_head(head.path)
    folds = CorpusArrays(corpora, "waveforms").split(
        read_folds(head.split, head.seed), head.fold, head.split, optional=("test",)
    )
    calibration = list(folds.subsets["train"].features[:calibration_utterances])
    latency = LatencyRecord.from_json(read_json(latency_json))
    chosen = choose_scheme(read_json(int8_json), latency, max_int8_uar_loss, deployed_int8)
    metadata = {
        "classes": classes,
        **waveform.model_dump(mode="json"),
        **upstream_record(pretrained),
        "int8": chosen,
    }
    out = Path(out_dir)
    export_onnx(WaveformEncoder(_with_state(upstream, state), model), out / "model.onnx", metadata=metadata)
    quantize_int8(out / "model.onnx", out / "model.int8.onnx", chosen["scheme"], calibration)
    sizes = {
        f"{name}_mb": (out / f"model{suffix}.onnx").stat().st_size / MB
        for name, suffix in (("float", ""), ("int8", ".int8"))
    }
    files = {name: str(out / f"model{suffix}.onnx") for name, suffix in (("float", ""), ("int8", ".int8"))}
    write_json(out_json, {"head": head.path, **metadata, **sizes, "files": files})


def _with_state(base: Upstream, state: dict | None) -> Upstream:
    """``base`` itself for a frozen study, else a copy carrying a head's fine-tuned encoder weights; eval mode."""
    if state is None:
        return base.eval()
    upstream = copy.deepcopy(base)
    upstream.model.load_state_dict(state)
    return upstream.eval()


def _encoder_sessions(upstream: Upstream, folder: Path, calibration: list) -> dict:
    """Float and int8 ONNX sessions of one encoder (outputs: pooled states, last hidden states)."""
    export_onnx(WaveformEncoder(upstream, last_hidden=True), folder / ENCODER_FILES["float"])
    for kind in INT8_KINDS:
        quantize_int8(folder / ENCODER_FILES["float"], folder / ENCODER_FILES[f"int8_{kind}"], kind, calibration)
    return {kind: onnx_session(folder / name) for kind, name in ENCODER_FILES.items()}


def _feed(waveform: np.ndarray) -> dict:
    return {"waveform": waveform[None, :].astype(np.float32)}
