"""Scoring a curve's assignments on one subset: every assignment run in full, beside :class:`AssignmentScores`
(which replays each module call whose widths so far an earlier run shared), beside the floor.

The assignments are what the allocator curves score per trained model: the front (the first module called: the
1DCNN's first convolution, the AttentionGRU's GRU) at each of four widths, each with the rest of the network at
three. The floor runs the model once per distinct front, all that a replay of the back cannot save. TESS-shaped
test split (1,400 utterances of 65 frames of 180 features, 7 classes), random weights, one thread; every arm's
logits are the full runs'.

Run on demand: ``pytest tests/benchmarks/test_assignment_scoring.py --benchmark-only``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from serbench.dataset import Subset
from serbench.lowbit.layers import quantization_layers
from serbench.lowbit.quantizers import fake_quantize_model
from serbench.settings.quantization import AttentionGRUSettings, CNN1DSettings
from serbench.studies.quantization.models import build_model, logits
from serbench.studies.quantization.scoring import AssignmentScores

UTTERANCES, FRAMES, DIM, CLASSES = 1400, 65, 180, 7
FRONT = {"cnn1d": ["conv1"], "attention_gru": ["gru.hh_l0", "gru.ih_l0"]}
SETTINGS = {"cnn1d": CNN1DSettings(), "attention_gru": AttentionGRUSettings()}


def model_and_subset(family: str):
    """A random model of ``family`` and a random subset of TESS's shape."""
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    model = build_model(family, input_dim=DIM, n_classes=CLASSES, **SETTINGS[family].model_dump()).eval()
    features = rng.normal(size=(UTTERANCES, FRAMES, DIM)).astype(np.float32)
    lengths = rng.integers(40, FRAMES + 1, UTTERANCES)
    return model, Subset(features, lengths, rng.integers(0, CLASSES, UTTERANCES), np.arange(UTTERANCES))


def assignments(family: str, model) -> list[dict[str, int]]:
    """The front at 2, 3, 4 and 8 bits, the other layers at 2, 4 and 8 under each: 12 assignments, 4 fronts."""
    back = [layer for layer in quantization_layers(model) if layer not in FRONT[family]]
    return [{f: b for f in FRONT[family]} | {layer: c for layer in back} for b in (2, 3, 4, 8) for c in (2, 4, 8)]


def full_run(model, bits: dict[str, int], data: Subset) -> torch.Tensor:
    return logits(fake_quantize_model(model, bits, "uniform"), data.features, data.lengths)


def full_runs(family: str, model, data: Subset) -> list[torch.Tensor]:
    """The plain alternative: a fake-quantized copy run on the whole subset per assignment."""
    return [full_run(model, bits, data) for bits in assignments(family, model)]


def replayed(family: str, model, data: Subset) -> list[torch.Tensor]:
    """What the allocators call: :meth:`AssignmentScores.logits`, one object per model and subset."""
    scores = AssignmentScores(model, data, "uniform")
    return [scores.logits(bits) for bits in assignments(family, model)]


def distinct_fronts(family: str, model, data: Subset) -> list[torch.Tensor]:
    """The floor: one full run per distinct front (4)."""
    return [full_run(model, bits, data) for bits in assignments(family, model)[::3]]


@pytest.mark.benchmark(group="assignment scoring")
@pytest.mark.parametrize("family", list(FRONT))
@pytest.mark.parametrize("arm", [full_runs, replayed, distinct_fronts], ids=lambda f: f.__name__)
def test_assignment_scoring_cost(benchmark, family, arm):
    model, data = model_and_subset(family)
    benchmark.group = f"scoring 12 assignments, {family}: {UTTERANCES} utterances, 1 thread"
    with threadpool_limits(1):
        torch.set_num_threads(1)
        result = benchmark.pedantic(arm, args=(family, model, data), rounds=2, warmup_rounds=0)
    expected = full_runs(family, model, data)
    step = 3 if arm is distinct_fronts else 1
    assert all(torch.equal(r, e) for r, e in zip(result, expected[::step], strict=True))
