"""ONNX export of encoder (+ head), ONNX Runtime dynamic int8 quantization, and CPU latency.

Dynamic int8 quantizes the weights of MatMul and Gemm nodes (the transformer's
projections and feed-forward layers); convolutions (the waveform feature
encoder) stay float.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from torch import nn

from serbench.atomic import atomic_path
from serbench.ssl.upstream import normalize_batch

QUANTIZED_OPS = ["MatMul", "Gemm"]


class WaveformEncoder(nn.Module):
    """Encoder with its feature extractor's normalisation, returning pooled states.

    ``forward(waveform (1, samples)) -> (1, layers + 1, hidden)``; with a
    ``head``, logits ``(1, classes)`` instead.
    """

    def __init__(self, encoder: nn.Module, normalize: bool, head: nn.Module | None = None):
        super().__init__()
        self.encoder, self.normalize, self.head = encoder, normalize, head

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        if self.normalize:
            waveform = normalize_batch(waveform, torch.full((waveform.shape[0],), waveform.shape[1]))
        hidden = self.encoder(waveform, output_hidden_states=True).hidden_states
        pooled = torch.stack(hidden, dim=1).mean(dim=2)  # (1, layers + 1, hidden)
        return pooled if self.head is None else self.head(pooled)


def export_onnx(module: nn.Module, path: str | Path, seconds: float = 8.0, metadata: dict | None = None) -> int:
    """Export ``module`` (input ``waveform (1, samples)``, any length) to ONNX, atomically.

    ``metadata`` (e.g. class names) is stored as JSON in the model's metadata
    under ``serbench``. Returns the file size in bytes.
    """
    example = torch.zeros(1, int(seconds * 16000))
    with atomic_path(path, suffix=".onnx") as tmp:
        torch.onnx.export(
            module.eval(),
            (example,),
            str(tmp),
            input_names=["waveform"],
            output_names=["output"],
            dynamic_axes={"waveform": {1: "samples"}},
            dynamo=False,
        )
        if metadata is not None:
            model = onnx.load(str(tmp))
            onnx.helper.set_model_props(model, {"serbench": json.dumps(metadata)})
            onnx.save(model, str(tmp))
    return Path(path).stat().st_size


def quantize_int8(source: str | Path, path: str | Path) -> int:
    """Dynamic int8 quantization of MatMul/Gemm weights with ONNX Runtime; returns the new file's bytes."""
    with atomic_path(path, suffix=".onnx") as tmp:
        quantize_dynamic(str(source), str(tmp), op_types_to_quantize=QUANTIZED_OPS, weight_type=QuantType.QInt8)
        source_props = {p.key: p.value for p in onnx.load(str(source)).metadata_props}
        if source_props:
            model = onnx.load(str(tmp))
            onnx.helper.set_model_props(model, source_props)
            onnx.save(model, str(tmp))
    return Path(path).stat().st_size


def onnx_session(path: str | Path, threads: int | None = None) -> ort.InferenceSession:
    """A CPU inference session of an exported model; ``threads`` caps its intra-op threads."""
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_metadata(session: ort.InferenceSession) -> dict:
    """The ``serbench`` metadata written by :func:`export_onnx` (``{}`` when absent)."""
    return json.loads(session.get_modelmeta().custom_metadata_map.get("serbench", "{}"))


def run_onnx(session: ort.InferenceSession, waveform: np.ndarray) -> np.ndarray:
    """Output of an exported model for one waveform ``(samples,)``."""
    return session.run(None, {"waveform": waveform[None, :].astype(np.float32)})[0][0]


def median_latency(run: Callable[[], object], repeats: int = 10, warmup: int = 2) -> float:
    """Median wall time of ``run()`` in seconds over ``repeats`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
