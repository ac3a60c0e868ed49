"""One pass of a frame-level model over a test split shaped as a TESS speaker fold's: the unit of the quantize step's
floor on those cells (each distinct set of a run's weights is scored once; ``cell_cost.py``).

Side by side, per family: the float model in the step's batches of similar lengths (``SCORING_BATCH``, 128; the
floor: the pass the step makes for every set of weights), a 2-bit and an 8-bit fake-quantized copy in the same
batches (a quantized model's pass costs what the float one does), and the float model in batches of 64, of 256 (the
size before 128) and of the whole split. TESS-shaped split (1,399 utterances of 40 to 90 frames of 180 features, 7
classes), random weights, one thread; every arm's scores are checked against its model's in the step's batches.

Run on demand: ``pytest tests/benchmarks/test_test_pass.py --benchmark-only``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from serbench.lowbit.layers import quantization_layers
from serbench.lowbit.quantizers import fake_quantize_model
from serbench.settings.quantization import AttentionGRUSettings, CNN1DSettings, LSTMSettings
from serbench.studies.quantization.models import batch_logits, build_model, length_batches
from serbench.studies.quantization.models.base import SCORING_BATCH

UTTERANCES, DIM, CLASSES = 1399, 180, 7
SETTINGS = {"cnn1d": CNN1DSettings(), "lstm": LSTMSettings(), "attention_gru": AttentionGRUSettings()}
ARMS = {"float, the step's batches": (None, SCORING_BATCH), "2 bits": (2, SCORING_BATCH), "8 bits": (8, SCORING_BATCH)}
ARMS |= {"float, batch 64": (None, 64), "float, batch 256": (None, 256), "float, whole split": (None, UTTERANCES)}


def model_and_split(family: str) -> tuple[torch.nn.Module, np.ndarray, np.ndarray]:
    """A random model of ``family``, ``(1399, 90, 180)`` features and their lengths (40 to 90 frames)."""
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    model = build_model(family, input_dim=DIM, n_classes=CLASSES, **SETTINGS[family].model_dump()).eval()
    return model, rng.normal(size=(UTTERANCES, 90, DIM)).astype(np.float32), rng.integers(40, 91, UTTERANCES)


@pytest.mark.benchmark(group="test pass")
@pytest.mark.parametrize("family", list(SETTINGS))
@pytest.mark.parametrize("arm", list(ARMS))
def test_test_pass_cost(benchmark, family, arm):
    model, features, lengths = model_and_split(family)
    bits, batch_size = ARMS[arm]
    scored = (
        model
        if bits is None
        else fake_quantize_model(model, dict.fromkeys(quantization_layers(model), bits), "uniform")
    )
    batches = length_batches(features, lengths, batch_size)
    benchmark.group = f"a pass over {UTTERANCES} test utterances, {family}, 1 thread"
    with threadpool_limits(1):
        torch.set_num_threads(1)
        scores = benchmark.pedantic(batch_logits, args=(scored, batches), rounds=3, warmup_rounds=1)
        reference = batch_logits(scored, length_batches(features, lengths))
    assert torch.allclose(scores, reference, rtol=1e-4, atol=1e-5)
