"""ONNX export of an upstream (+ head), ONNX Runtime int8 quantization, and CPU timing.

Three int8 schemes, all ONNX Runtime's own:

- ``static``: weight norm folded into a plain kernel
  before export, then QDQ quantization of every Conv, MatMul and Gemm with
  per-channel int8 weights and uint8 activations whose ranges are calibrated
  (min-max) on training utterances: the convolutional feature encoder, the
  positional convolution and the transformer are all int8.
- ``mixed``: the static model with float activations in the convolutional
  front-end (wav2vec2's feature encoder, Whisper's two convolutions; their weights
  stay int8, dequantized at run time): the file of ``static``, the fidelity of
  float convolutions, the speed of the transformer's int8 only. The feature
  encoder's activations span the utterance's 40-60 dB of level per tensor, so
  8-bit grids lose its quiet frames.
- ``dynamic``: int8 weights of MatMul and Gemm only, one scale per output
  channel, activations quantized at run time; the convolutions stay float.
  Per-channel scales halve the error of one scale per tensor at the same size
  and speed (Whisper-tiny on EmoDB: cosine to float 0.9985 against 0.9955).
- ``dynamic_ffn_float``: ``dynamic`` with the feed-forward blocks'
  down-projections (Whisper's ``fc2``, wav2vec2's ``output_dense``) float.
  Their inputs, after the GELU, carry the transformer's outlier channels, which
  one run-time scale per tensor quantizes worst (Bondarenko et al. 2021,
  "Understanding and overcoming the challenges of efficient transformer
  quantization"; Dettmers et al. 2022, LLM.int8()). Whisper-tiny on EmoDB:
  cosine 0.9989, 19.6 MB, 35 ms per 8-s clip at 1 thread against 12.5 MB and
  25 ms for ``dynamic`` and 55 ms for float ONNX.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quant_pre_process,
    quantize_dynamic,
    quantize_static,
)
from torch import nn
from torch.nn.utils import parametrize

from serbench.atomic import atomic_path
from serbench.ssl.encoders import SAMPLE_RATE, Upstream

INT8_KINDS = ("dynamic", "dynamic_ffn_float", "static", "mixed")
CALIBRATED_KINDS = ("static", "mixed")
# exported node and tensor names of the convolutional front-ends (wav2vec2 family, Whisper)
CNN_SCOPES = ("/feature_extractor/", "/conv1/", "/conv2/")
FLOAT_SCOPES = ("/log_mel/",)  # computed in float by every scheme: Whisper's log-mel spectrogram
FFN_OUTPUT_SCOPES = ("/fc2/", "/feed_forward/output_dense/")  # Whisper's and the wav2vec2 family's down-projections
DYNAMIC_OPS = ["MatMul", "Gemm"]
STATIC_OPS = ["Conv", "MatMul", "Gemm"]


class WaveformEncoder(nn.Module):
    """An upstream (its own preprocessing included: normalisation, log-mel) returning pooled states.

    ``forward(waveform (1, samples)) -> (1, layers + 1, hidden)`` mean-pooled
    states of every layer, and with ``last_hidden`` also the last layer's frames
    ``(1, frames, hidden)``; with a ``head``, logits ``(1, classes)`` instead.
    """

    def __init__(self, upstream: Upstream, head: nn.Module | None = None, last_hidden: bool = False):
        super().__init__()
        self.upstream, self.head, self.last_hidden = upstream, head, last_hidden

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.upstream(waveform, torch.full((waveform.shape[0],), waveform.shape[1]))
        pooled = torch.stack(hidden, dim=1).mean(dim=2)  # (1, layers + 1, hidden)
        if self.head is not None:
            return self.head(pooled)
        return (pooled, hidden[-1]) if self.last_hidden else pooled


def fold_weight_norm(module: nn.Module) -> nn.Module:
    """A copy of ``module`` with every parametrised submodule (weight norm) replaced by a plain one.

    Weight norm (Salimans & Kingma 2016) computes the positional convolution's
    kernel g·v/||v|| at run time; as exported it is a subgraph, not a constant,
    so no quantizer can reach it. The copy holds the computed kernel as an
    ordinary parameter; its function is unchanged and ``module`` is untouched
    (``torch.nn.utils.parametrize.remove_parametrizations`` would alter the
    parametrised class that a deep copy shares with its original).
    """
    module = copy.deepcopy(module)
    for parent in [module, *module.modules()]:
        for name, child in list(parent.named_children()):
            if parametrize.is_parametrized(child):
                setattr(parent, name, _plain(child))
    return module


def _plain(module: nn.Module) -> nn.Module:
    """The module as its class before parametrisation, each parametrised tensor computed once."""
    base = type(module).__bases__[0]
    plain = base.__new__(base)
    plain.__dict__ = {
        **module.__dict__,
        "_parameters": dict(module._parameters),
        "_modules": {k: v for k, v in module._modules.items() if k != "parametrizations"},
    }
    for name in module.parametrizations:
        plain._parameters[name] = nn.Parameter(getattr(module, name).detach().clone())
    return plain


def export_onnx(module: nn.Module, path: str | Path, seconds: float = 8.0, metadata: dict | None = None) -> int:
    """Export ``module`` (input ``waveform (1, samples)``, any length) to ONNX, atomically, weight norm folded.

    Outputs are named ``output`` (and ``last_hidden``, frames dynamic, for a
    :class:`WaveformEncoder` built with ``last_hidden``). ``metadata`` (e.g.
    class names) is stored as JSON in the model's metadata under ``serbench``.
    Returns the file size in bytes.
    """
    example = torch.from_numpy(np.random.default_rng(0).uniform(-0.5, 0.5, (1, int(seconds * SAMPLE_RATE)))).float()
    two = getattr(module, "last_hidden", False) and getattr(module, "head", None) is None
    outputs = ["output", "last_hidden"] if two else ["output"]
    axes = {"waveform": {1: "samples"}} | ({"last_hidden": {1: "frames"}} if two else {})
    with atomic_path(path, suffix=".onnx") as tmp, warnings.catch_warnings():
        # the tracer's notes on shape arithmetic it records as constants: export is checked against PyTorch in tests
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message="Constant folding")
        torch.onnx.export(
            fold_weight_norm(module).eval(),
            (example,),
            str(tmp),
            input_names=["waveform"],
            output_names=outputs,
            dynamic_axes=axes,
            dynamo=False,
        )
        if metadata is not None:
            model = onnx.load(str(tmp))
            onnx.helper.set_model_props(model, {"serbench": json.dumps(metadata)})
            onnx.save(model, str(tmp))
    return Path(path).stat().st_size


class _Waveforms(CalibrationDataReader):
    """ONNX Runtime's calibration feed: one ``{"waveform": (1, samples)}`` per utterance."""

    def __init__(self, waveforms: list[np.ndarray]):
        self._waveforms = iter(waveforms)

    def get_next(self) -> dict | None:
        waveform = next(self._waveforms, None)
        return None if waveform is None else {"waveform": waveform[None, :].astype(np.float32)}


def quantize_int8(
    source: str | Path, path: str | Path, kind: str = "static", calibration: list[np.ndarray] | None = None
) -> int:
    """Int8 ONNX model from a float export; returns the new file's bytes.

    Args:
        source: a float model from :func:`export_onnx`.
        path: the int8 model to write (atomically; metadata carried over).
        kind: ``static`` (QDQ, Conv + MatMul + Gemm, per-channel int8 weights,
            uint8 activations calibrated min-max on ``calibration``; MatMul only
            where one input is a weight), ``mixed`` (``static`` with the feature
            encoder's activations float), ``dynamic`` (MatMul/Gemm weights, per channel) or
            ``dynamic_ffn_float`` (``dynamic`` with the feed-forward down-projections float).
        calibration: waveforms ``(samples,)`` at 16 kHz, for ``static`` and ``mixed``.

    Raises:
        ValueError: an unknown ``kind``, or ``static``/``mixed`` without calibration waveforms.
    """
    if kind not in INT8_KINDS:
        raise ValueError(f"int8 kind {kind!r}: expected one of {', '.join(INT8_KINDS)}")
    if kind in CALIBRATED_KINDS and not calibration:
        raise ValueError(f"{kind} int8 quantization needs calibration waveforms")
    with atomic_path(path, suffix=".onnx") as tmp:
        if kind not in CALIBRATED_KINDS:
            quantize_dynamic(
                str(source),
                str(tmp),
                op_types_to_quantize=DYNAMIC_OPS,
                weight_type=QuantType.QInt8,
                per_channel=True,
                nodes_to_exclude=_nodes_within(str(source), FFN_OUTPUT_SCOPES) if kind == "dynamic_ffn_float" else [],
            )
        else:
            prepared = Path(tmp).with_suffix(".prepared.onnx")
            quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
            with _root_logger_at_warning():  # onnxruntime logs a line per unquantized tensor to the root logger
                quantize_static(
                    str(prepared),
                    str(tmp),
                    _Waveforms(calibration),
                    quant_format=QuantFormat.QDQ,
                    op_types_to_quantize=STATIC_OPS,
                    per_channel=True,
                    activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8,
                    extra_options={"MatMulConstBOnly": True},
                    nodes_to_exclude=_nodes_within(str(prepared), FLOAT_SCOPES),
                )
            prepared.unlink()
            if kind == "mixed":
                onnx.save(float_activations(onnx.load(str(tmp)), CNN_SCOPES), str(tmp))
        source_props = {p.key: p.value for p in onnx.load(str(source)).metadata_props}
        if source_props:
            model = onnx.load(str(tmp))
            onnx.helper.set_model_props(model, source_props)
            onnx.save(model, str(tmp))
    return Path(path).stat().st_size


def _nodes_within(path: str, scopes: tuple[str, ...]) -> list[str]:
    """Names of the nodes of an ONNX model whose names lie within ``scopes``."""
    return [n.name for n in onnx.load(path).graph.node if any(scope in n.name for scope in scopes)]


def float_activations(model: onnx.ModelProto, scopes: tuple[str, ...]) -> onnx.ModelProto:
    """``model`` (QDQ) without the QuantizeLinear → DequantizeLinear pairs of the activations named within ``scopes``.

    Their consumers read the float tensor; the weights' DequantizeLinear nodes
    stay, so weights are stored in int8 and those operators compute in float.
    Scales and zero-points left unused are dropped. Modifies and returns ``model``.
    """
    graph = model.graph
    quantize = {
        n.output[0]: n for n in graph.node if n.op_type == "QuantizeLinear" and any(s in n.input[0] for s in scopes)
    }
    dequantize = [n for n in graph.node if n.op_type == "DequantizeLinear" and n.input[0] in quantize]
    float_of = {n.output[0]: quantize[n.input[0]].input[0] for n in dequantize}
    removed = [*quantize.values(), *dequantize]
    kept = [n for n in graph.node if not (n.output and (n.output[0] in quantize or n.output[0] in float_of))]
    for node in kept:
        node.input[:] = [float_of.get(name, name) for name in node.input]
    used = {name for node in kept for name in node.input}
    unused = {name for node in removed for name in node.input[1:]} - used
    del graph.node[:]
    graph.node.extend(kept)
    kept_initializers = [i for i in graph.initializer if i.name not in unused]
    del graph.initializer[:]
    graph.initializer.extend(kept_initializers)
    return model


@contextlib.contextmanager
def _root_logger_at_warning():
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        root.setLevel(level)


def onnx_session(path: str | Path, threads: int | None = None) -> ort.InferenceSession:
    """A CPU inference session of an exported model, every graph optimisation on, on ``threads`` intra-op threads
    (default: torch's thread count, which a workflow job sets to its own threads)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_metadata(session: ort.InferenceSession) -> dict:
    """The ``serbench`` metadata written by :func:`export_onnx` (``{}`` when absent)."""
    return json.loads(session.get_modelmeta().custom_metadata_map.get("serbench", "{}"))


def run_onnx(session: ort.InferenceSession, waveform: np.ndarray) -> np.ndarray:
    """First output of an exported model for one waveform ``(samples,)``, batch axis dropped."""
    return session.run(None, {"waveform": waveform[None, :].astype(np.float32)})[0][0]


def mean_cosine(reference: np.ndarray, other: np.ndarray) -> float:
    """Mean over rows of the cosine similarity of ``reference`` and ``other``, both ``(frames, hidden)``."""
    dot = (reference * other).sum(axis=1)
    norms = np.linalg.norm(reference, axis=1) * np.linalg.norm(other, axis=1)
    return float(np.mean(dot / np.maximum(norms, 1e-12)))
