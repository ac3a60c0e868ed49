"""Bytes on disk and CPU latency of one waveform model five ways, in one run: the helper of both SSL studies.

PyTorch float (eager), ONNX float, and ONNX int8 in every scheme of :data:`~serbench.ssl.onnx_export.INT8_KINDS`
run the same clip at every thread count, interleaved: each of ``repeats`` rounds runs every runtime once, so a
machine loaded for part of the run slows all runtimes alike rather than the ones timed then. ONNX float is the
honest deployment baseline of an int8 model: a speed-up is read against it, not only against PyTorch. Beside each
median, the fastest round (the least disturbed, which the deployed int8 scheme is chosen from) and the spread.

A measurement is a :class:`LatencyRecord`, one :class:`RuntimeTiming` per runtime; its JSON form (flat keys
``<runtime>_mb``, ``latency_<runtime>_s``, ...) is written and read here only.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from serbench.errors import InputError
from serbench.ssl.encoders import SAMPLE_RATE
from serbench.ssl.onnx_export import INT8_KINDS, export_onnx, onnx_session, quantize_int8, run_onnx

MB = 1_000_000


def noise_clips(seconds: float, count: int, seed: int) -> list[np.ndarray]:
    """``count`` clips of uniform noise in [-0.5, 0.5), ``(seconds × 16000,)`` float32 each, drawn in turn from one
    generator: what latency is timed on and int8 calibrated with (sizes and latency do not depend on the values)."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(-0.5, 0.5, int(seconds * SAMPLE_RATE)).astype(np.float32) for _ in range(count)]


def int8_runtime(kind: str) -> str:
    """The runtime name of an int8 scheme.

    >>> int8_runtime("static")
    'onnx_int8_static'
    """
    return f"onnx_int8_{kind}"


def _by_threads(times: dict) -> dict[int, float]:
    return {int(threads): value for threads, value in times.items()}  # JSON writes the thread counts as strings


@dataclass(frozen=True)
class RuntimeTiming:
    """One runtime of a :class:`LatencyRecord`: bytes on disk (MB = 10^6 bytes; PyTorch: 4 bytes a parameter) and,
    per thread count, the median and fastest time per clip (s) and the spread (interquartile range / median)."""

    mb: float
    median_s: dict[int, float]
    fastest_s: dict[int, float]
    spread: dict[int, float]


@dataclass(frozen=True)
class LatencyRecord:
    """What :func:`measure_latency` measures of one waveform model: its parameters, the clip (s), the thread counts,
    and a :class:`RuntimeTiming` per runtime (``pytorch_float``, ``onnx_float``, :func:`int8_runtime` of each int8
    scheme measured)."""

    n_params: int
    clip_seconds: float
    threads: list[int]
    repeats: int
    runtimes: dict[str, RuntimeTiming]

    @property
    def fewest_threads(self) -> int:
        """The fewest threads measured: the deployment view's setting."""
        return min(self.threads)

    def runtime(self, name: str) -> RuntimeTiming:
        """The timing of ``name``.

        Raises:
            InputError: a runtime this record did not measure (the message lists those it did).
        """
        if name not in self.runtimes:
            raise InputError(f"no latency measured for runtime {name!r}; measured: {', '.join(self.runtimes)}")
        return self.runtimes[name]

    def to_json(self) -> dict:
        """The flat JSON form: ``n_params``, ``clip_seconds``, ``threads``, ``repeats``, and per runtime
        ``<runtime>_mb``, ``latency_<runtime>_s``, ``fastest_<runtime>_s``, ``spread_<runtime>``."""
        out: dict = {"n_params": self.n_params, "clip_seconds": self.clip_seconds}
        out |= {"threads": self.threads, "repeats": self.repeats}
        for name, timing in self.runtimes.items():
            out |= {f"{name}_mb": timing.mb, f"latency_{name}_s": timing.median_s}
            out |= {f"fastest_{name}_s": timing.fastest_s, f"spread_{name}": timing.spread}
        return out

    @classmethod
    def from_json(cls, record: dict) -> LatencyRecord:
        """A record from :meth:`to_json`'s form (other keys of the same JSON object are left to its reader).

        Raises:
            InputError: a key of every record is missing (named).
        """
        missing = [key for key in ("n_params", "clip_seconds", "threads") if key not in record]
        if missing:
            raise InputError(f"a latency record lacks {missing[0]!r}: not written by serbench.ssl.latency")
        names = [key.removeprefix("latency_").removesuffix("_s") for key in record if key.startswith("latency_")]
        runtimes = {
            name: RuntimeTiming(
                record[f"{name}_mb"],
                _by_threads(record[f"latency_{name}_s"]),
                _by_threads(record.get(f"fastest_{name}_s", {})),
                _by_threads(record.get(f"spread_{name}", {})),
            )
            for name in names
        }
        threads = [int(t) for t in record["threads"]]
        return cls(record["n_params"], record["clip_seconds"], threads, record.get("repeats", 0), runtimes)


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
        The :class:`LatencyRecord`.
    """
    clip = np.random.default_rng(0).uniform(-0.5, 0.5, int(seconds * SAMPLE_RATE)).astype(np.float32)
    n_params = getattr(model, "n_params", None) or sum(p.numel() for p in model.parameters())
    files = {"onnx_float": "float.onnx"} | {int8_runtime(kind): f"{kind}.onnx" for kind in kinds}
    tensor = torch.from_numpy(clip)[None, :]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sizes = {
            "pytorch_float": 4 * n_params / MB,
            "onnx_float": export_onnx(model, folder / "float.onnx", seconds) / MB,
        }
        for kind in kinds:
            sizes[int8_runtime(kind)] = (
                quantize_int8(folder / "float.onnx", folder / files[int8_runtime(kind)], kind, calibration) / MB
            )
        runtimes = {name: RuntimeTiming(size, {}, {}, {}) for name, size in sizes.items()}
        for count in threads:
            torch.set_num_threads(count)
            sessions = {name: onnx_session(folder / file, count) for name, file in files.items()}
            runs = {"pytorch_float": lambda: model(tensor)}
            runs |= {name: (lambda s=session: run_onnx(s, clip)) for name, session in sessions.items()}
            with torch.no_grad():
                timed = interleaved_latency(runs, repeats)
            for name, timing in timed.items():
                runtimes[name].median_s[count] = timing["median"]
                runtimes[name].fastest_s[count] = timing["minimum"]
                runtimes[name].spread[count] = timing["spread"]
    return LatencyRecord(n_params, seconds, threads, repeats, runtimes)
