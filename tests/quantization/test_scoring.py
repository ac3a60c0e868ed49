"""Assignment scores replay the float run's module outputs before the first quantized layer: exactly the logits a
full run of the quantized model gives, for every family."""

import numpy as np
import pytest
import torch

from conftest import family
from serbench.dataset import Subset
from serbench.lowbit.layers import quantization_layers
from serbench.lowbit.quantizers import fake_quantize_model
from serbench.studies.quantization.models import logits
from serbench.studies.quantization.scoring import AssignmentScores, FloatOutputs


def subset(level: str, n: int = 40) -> Subset:
    rng = np.random.default_rng(0)
    shape = (n, 30, 12) if level == "frames" else (n, 12)
    lengths = rng.integers(5, 31, size=n) if level == "frames" else np.ones(n, dtype=np.int64)
    return Subset(rng.normal(size=shape).astype(np.float32), lengths, rng.integers(0, 4, size=n), np.arange(n))


@pytest.mark.parametrize("name", ["mlp", "lstm", "attention_gru", "cnn1d"])
def test_replayed_scores_equal_a_full_run_of_every_assignment(name):
    torch.manual_seed(0)
    model = family(name, 12, 4).eval()
    data = subset(model.input_level)
    layers = list(quantization_layers(model))
    assignments = [{}, *({layer: b} for layer in layers for b in (2, 8)), {layer: 3 for layer in layers[1:]}]
    scores = AssignmentScores(model, data, "uniform")
    for bits in assignments:
        full = logits(fake_quantize_model(model, bits, "uniform"), data.features, data.lengths)
        assert torch.equal(scores.logits(bits), full), bits
    assert scores._float.usable  # the replay ran, not the fallback


def test_a_replay_runs_only_what_follows_the_first_quantized_layer():
    torch.manual_seed(0)
    model = family("attention_gru", 12, 4).eval()
    data = subset("frames")
    run = lambda m: logits(m, data.features, data.lengths, batch_size=16)  # noqa: E731
    recorded = FloatOutputs(model, run)
    assert recorded.pattern == ("gru", "attention", "score", "out") and len(recorded.calls) == 3  # 3 batches
    quantized = fake_quantize_model(model, {"out": 2}, "uniform")
    expected = run(quantized)

    def must_not_run(*args, **kwargs):
        raise AssertionError("the GRU ran again")

    quantized.gru.forward = must_not_run  # replayed: the float run's GRU states stand in
    assert torch.equal(recorded.logits(quantized, {"out"}, run), expected)
