"""An early exit against the full teacher and against its compute bound: full-size wav2vec2-base (random
weights), one 8-second clip. The bound is what the layer-3 exit cannot skip, timed alone: the CNN front-end and
3 of 12 transformer layers (the exit's head adds a 1×1 convolution, pooling and two small linear layers).

Run on demand: ``pytest tests/benchmarks --benchmark-only``.
"""

from __future__ import annotations

import pytest
import torch

from serbench.ssl.upstream import random_upstream
from serbench.studies.selfdistill.model import ExitHead, ExitModel


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    return random_upstream("wav2vec2-base").eval()


@pytest.mark.benchmark(group="self-distillation exits, 8 s clip")
@pytest.mark.parametrize("depth", [3, 12], ids=["exit_layer_3", "teacher_layer_12"])
def test_exit_latency(benchmark, encoder, depth):
    model = ExitModel(encoder, depth, ExitHead("conv" if depth < 12 else "none", 768, 7)).eval()
    clip = torch.randn(1, 8 * 16000)
    with torch.no_grad():
        logits = benchmark.pedantic(model, args=(clip,), rounds=5, warmup_rounds=1)
    assert logits.shape == (1, 7)


@pytest.mark.benchmark(group="self-distillation exits, 8 s clip")
def test_exit_layer_3_compute_bound(benchmark, encoder):
    clip = torch.randn(1, 8 * 16000)
    with torch.no_grad():
        hidden, _ = benchmark.pedantic(encoder, args=(clip, torch.tensor([8 * 16000]), 3), rounds=5, warmup_rounds=1)
    assert len(hidden) == 4 and hidden[-1].shape == (1, 399, 768)
