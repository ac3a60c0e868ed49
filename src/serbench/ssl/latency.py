"""Bytes on disk and CPU latency of one waveform model five ways, in one run: the helper of both SSL studies.

PyTorch float (eager), ONNX float, and ONNX int8 in every scheme of :data:`~serbench.ssl.onnx_export.INT8_KINDS`
run the same clip at every thread count, interleaved: each of ``repeats`` rounds runs every runtime once, so a
machine loaded for part of the run slows all runtimes alike rather than the ones timed then. ONNX float is the
honest deployment baseline of an int8 model: a speed-up is read against it, not only against PyTorch. Beside each
median, the fastest round (the least disturbed, which the deployed int8 scheme is chosen from) and the spread.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from serbench.ssl.encoders import SAMPLE_RATE
from serbench.ssl.onnx_export import INT8_KINDS, export_onnx, onnx_session, quantize_int8, run_onnx

MB = 1_000_000


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


def interleaved_latency(runs: dict[str, Callable[[], object]], repeats: int = 10, warmup: int = 2) -> dict:
    """Wall times (s) of several ``runs`` timed in turn: ``warmup`` untimed rounds, then ``repeats`` rounds in
    which each runs once (the order rotating from round to round).

    Returns:
        name -> ``{"median", "minimum", "spread"}``: median and minimum seconds, and the spread as the
        interquartile range over the median (0 with one repeat).
    """
    names = list(runs)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(warmup + repeats):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            start = time.perf_counter()
            runs[name]()
            if round_ >= warmup:
                times[name].append(time.perf_counter() - start)
    out = {}
    for name, values in times.items():
        low, high = np.percentile(values, [25, 75])
        median = statistics.median(values)
        out[name] = {"median": median, "minimum": min(values), "spread": float(high - low) / median}
    return out


def measure_latency(
    model: nn.Module,
    calibration: list[np.ndarray],
    seconds: float,
    repeats: int,
    threads: list[int],
    kinds: tuple[str, ...] = INT8_KINDS,
) -> dict:
    """Sizes and median latencies of ``model`` (input ``waveform (1, samples)``) as PyTorch, ONNX float and int8.

    Args:
        model: a waveform model (eval mode), e.g. upstream + head; its ``n_params`` when it has one (an exit
            counts only the layers it runs), else all its parameters.
        calibration: waveforms ``(samples,)`` at 16 kHz for the static and mixed schemes (sizes and latency do
            not depend on their values).
        seconds: clip length (s).
        repeats: timed rounds after two warm-up rounds (:func:`interleaved_latency`).
        threads: CPU thread counts.
        kinds: int8 schemes to measure.

    Returns:
        ``n_params``; ``<runtime>_mb`` (MB = 10^6 bytes; PyTorch: 4 bytes per parameter) and ``latency_<runtime>_s``
        (``{threads: seconds}``, the median) for runtimes ``pytorch_float``, ``onnx_float`` and
        ``onnx_int8_<kind>``, with ``fastest_<runtime>_s`` (the minimum) and ``spread_<runtime>`` (interquartile
        range / median) beside.
    """
    clip = np.random.default_rng(0).uniform(-0.5, 0.5, int(seconds * SAMPLE_RATE)).astype(np.float32)
    n_params = getattr(model, "n_params", None) or sum(p.numel() for p in model.parameters())
    result: dict = {"n_params": n_params, "pytorch_float_mb": 4 * n_params / MB, "clip_seconds": seconds}
    result |= {"threads": threads, "repeats": repeats}
    files = {"onnx_float": "float.onnx"} | {f"onnx_int8_{kind}": f"{kind}.onnx" for kind in kinds}
    tensor = torch.from_numpy(clip)[None, :]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result["onnx_float_mb"] = export_onnx(model, folder / files["onnx_float"], seconds) / MB
        for kind in kinds:
            name = f"onnx_int8_{kind}"
            result[f"{name}_mb"] = quantize_int8(folder / "float.onnx", folder / files[name], kind, calibration) / MB
        for name in ("pytorch_float", *files):
            result |= {f"latency_{name}_s": {}, f"fastest_{name}_s": {}, f"spread_{name}": {}}
        for count in threads:
            torch.set_num_threads(count)
            sessions = {name: onnx_session(folder / file, count) for name, file in files.items()}
            runs = {"pytorch_float": lambda: model(tensor)}
            runs |= {name: (lambda s=session: run_onnx(s, clip)) for name, session in sessions.items()}
            with torch.no_grad():
                timed = interleaved_latency(runs, repeats)
            for name, timing in timed.items():
                result[f"latency_{name}_s"][count] = timing["median"]
                result[f"fastest_{name}_s"][count] = timing["minimum"]
                result[f"spread_{name}"][count] = timing["spread"]
    return result
