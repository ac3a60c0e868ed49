"""Int8 DistilHuBERT as deployed: full-size architecture (random weights), real EmoDB utterances, one run.

Run on demand: ``pytest tests/benchmarks --benchmark-only`` with SERBENCH_DATA set.
Float ONNX, dynamic, static and mixed int8 (the latter two calibrated on 16
EmoDB utterances of speakers 03-08) encode the same 8-second clip; fidelity is
the mean cosine similarity, frame by frame, of the last hidden states float vs
int8 on 24 utterances of other speakers (09-16), overall and by the frame's
level (RMS of its 25-ms window, dB re full scale), in ``extra_info``.

Measured (2026-11-23): static int8 (uint8 activations, per tensor) reaches 0.98
on frames above −20 dB but about 0.73 over all frames: a waveform front-end
with 40-60 dB of level within an utterance and no per-frame normalisation
before the feature projection's LayerNorm loses quiet frames to an 8-bit
activation grid; any one convolution with int8 activations costs several
hundredths (conv 1 alone: 0.90). The asserts are what holds: dynamic and mixed
(float activations in the convolutions) ≥ 0.98 overall, static ≥ 0.98 on
frames above −20 dB.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from serbench.audio import load_audio
from serbench.settings import WaveformSettings
from serbench.ssl.onnx_export import WaveformEncoder, export_onnx, mean_cosine, onnx_session, quantize_int8
from serbench.ssl.upstream import random_upstream
from serbench.ssl.waveforms import prepare_waveform

DATA = os.environ.get("SERBENCH_DATA")
pytestmark = pytest.mark.skipif(not DATA, reason="SERBENCH_DATA is unset: the fidelity check reads EmoDB")


def _utterances(speakers: tuple[str, ...], count: int) -> list[np.ndarray]:
    paths = [p for p in sorted(Path(DATA, "emodb", "wav").glob("*.wav")) if p.name[:2] in speakers][:count]
    return [prepare_waveform(load_audio(p, 16000)[0], WaveformSettings()) for p in paths]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("int8")
    torch.manual_seed(0)
    export_onnx(WaveformEncoder(random_upstream("distilhubert"), last_hidden=True), folder / "float.onnx")
    calibration = _utterances(("03", "08"), 16)
    for kind in ("static", "mixed"):
        quantize_int8(folder / "float.onnx", folder / f"{kind}.onnx", kind, calibration)
    quantize_int8(folder / "float.onnx", folder / "dynamic.onnx", "dynamic")
    return {name: folder / f"{name}.onnx" for name in ("float", "static", "mixed", "dynamic")}


@pytest.mark.benchmark(group="DistilHuBERT int8, 8 s clip, 1 thread")
@pytest.mark.parametrize("kind", ["float", "dynamic", "static", "mixed"])
def test_int8_latency_and_fidelity(benchmark, models, kind):
    sessions = {name: onnx_session(path, threads=1) for name, path in models.items()}
    held_out = _utterances(("09", "10", "11", "12", "13", "14", "15", "16"), 24)
    cosines, levels = [], []
    for waveform in held_out:
        feed = {"waveform": waveform[None, :]}
        reference, other = sessions["float"].run(None, feed)[1][0], sessions[kind].run(None, feed)[1][0]
        cosines += [mean_cosine(reference[i : i + 1], other[i : i + 1]) for i in range(len(reference))]
        levels += [_level_db(waveform[320 * i : 320 * i + 400]) for i in range(len(reference))]
    cosines, levels = np.array(cosines), np.array(levels)
    benchmark.extra_info["mean_cosine_vs_float"] = float(cosines.mean())
    for low, high in ((-200, -40), (-40, -30), (-30, -20), (-20, 0)):
        chosen = (levels >= low) & (levels < high)
        benchmark.extra_info[f"cosine_frames_{low}_to_{high}_db"] = float(cosines[chosen].mean())
    clip = {"waveform": np.random.default_rng(0).uniform(-0.5, 0.5, (1, 8 * 16000)).astype(np.float32)}
    benchmark.pedantic(sessions[kind].run, args=(None, clip), rounds=5, warmup_rounds=1)
    loud = cosines[levels >= -20].mean()
    assert loud >= 0.98 and (kind == "static" or cosines.mean() >= 0.98)


def _level_db(frame: np.ndarray) -> float:
    """RMS level of a frame in dB re full scale."""
    return float(10 * np.log10(np.mean(frame.astype(np.float64) ** 2) + 1e-12))
