"""Whisper's 30-s input against clips as they are: the pretrained tiny.en encoder on one EmoDB utterance (2 s), one
thread, both modes of ``waveform.whisper_input``, and the clip's log-mel alone (the floor the encoder cannot go below).

Run on demand: ``pytest tests/benchmarks --benchmark-only`` with the shared Hugging Face cache (HF_HUB_CACHE) and
SERBENCH_DATA set. ``extra_info`` gives the cosine of the clip's pooled last layer against the pad30 one.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from serbench.audio import load_audio
from serbench.ssl.upstream import load_upstream, pooled_hidden_states

DATA = os.environ.get("SERBENCH_DATA")
HAS_WHISPER = (Path(os.environ.get("HF_HUB_CACHE", "/nonexistent")) / "models--openai--whisper-tiny.en").is_dir()
pytestmark = pytest.mark.skipif(not (DATA and HAS_WHISPER), reason="needs SERBENCH_DATA and the Hugging Face cache")


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return load_audio(Path(DATA, "emodb", "wav", "03a01Fa.wav"), 16000)[0]


@pytest.mark.benchmark(group="Whisper tiny.en, one 2-s clip, 1 thread")
@pytest.mark.parametrize("mode", ["clip", "pad30", "log_mel_only"])
def test_whisper_input_modes(benchmark, clip, mode):
    torch.set_num_threads(1)
    upstream = load_upstream("openai/whisper-tiny.en", whisper_input="pad30" if mode == "pad30" else "clip")
    if mode == "log_mel_only":
        mel = benchmark.pedantic(upstream.log_mel, args=(torch.from_numpy(clip),), rounds=10, warmup_rounds=2)
        assert mel.shape == (80, len(clip) // 160)
        return
    states = benchmark.pedantic(pooled_hidden_states, args=(upstream, clip), rounds=10, warmup_rounds=2)
    reference = pooled_hidden_states(load_upstream("openai/whisper-tiny.en", whisper_input="pad30"), clip)
    cosine = float(np.dot(states[-1], reference[-1]) / np.linalg.norm(states[-1]) / np.linalg.norm(reference[-1]))
    benchmark.extra_info["cosine_last_layer_vs_pad30"] = cosine
    assert states.shape == (5, 384) and (mode == "clip" or cosine == pytest.approx(1.0))
