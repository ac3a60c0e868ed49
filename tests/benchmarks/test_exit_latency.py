"""An early exit against the full teacher: full-size wav2vec2-base (random weights), one 8-second clip.

Run on demand: ``pytest tests/benchmarks --benchmark-only``.
"""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModel

from serbench.ssl.upstream import build_config
from serbench.studies.selfdistill.model import ExitHead, ExitModel


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    return AutoModel.from_config(build_config("wav2vec2-base")).eval()


@pytest.mark.benchmark(group="self-distillation exits, 8 s clip")
@pytest.mark.parametrize("depth", [3, 12], ids=["exit_layer_3", "teacher_layer_12"])
def test_exit_latency(benchmark, encoder, depth):
    model = ExitModel(encoder, depth, ExitHead("conv" if depth < 12 else "none", 768, 7)).eval()
    clip = torch.randn(1, 8 * 16000)
    with torch.no_grad():
        logits = benchmark.pedantic(model, args=(clip,), rounds=5, warmup_rounds=1)
    assert logits.shape == (1, 7)
