import itertools

import numpy as np
import pytest
import torch

from conftest import Blobs
from serbench.lowbit.importance import average_bits
from serbench.lowbit.quantizers import fake_quantize_model
from serbench.lowbit.sensitivity import allocate, layer_sensitivity
from serbench.settings import QATSettings, QuantizationSettings
from serbench.studies.quantization.models import logits, predict
from serbench.studies.quantization.qat import quantization_aware_training
from serbench.studies.quantization.variants import allocations, layer_counts

BLOBS = Blobs(classes=4, dim=10, seed=7)
blobs = BLOBS.subset


@pytest.fixture(scope="module")
def trained():
    return BLOBS.trained_mlp(hidden=(64, 32), n_train=600, n_validation=100, epochs=40)


def test_allocation_is_the_cheapest_combination_within_the_budget():
    rng = np.random.default_rng(0)
    sensitivity = {layer: {b: float(rng.uniform(0, 1) / b) for b in (1, 2, 4, 8)} for layer in "abc"}
    counts = {"a": 100, "b": 300, "c": 50}
    chosen = allocate(sensitivity, counts, 2.5)
    assert average_bits(counts, chosen) <= 2.5
    brute = min(
        (sum(sensitivity[layer][b] for layer, b in zip("abc", combo)), combo)
        for combo in itertools.product((1, 2, 4, 8), repeat=3)
        if average_bits(counts, dict(zip("abc", combo))) <= 2.5
    )
    assert tuple(chosen.values()) == brute[1]
    with pytest.raises(ValueError, match="no bit-width combination"):
        allocate(sensitivity, counts, 0.5)


def test_sensitivity_is_the_loss_increase_of_one_layer_at_a_time():
    calls = []

    def loss(bits):
        calls.append(dict(bits))
        return 1.0 + sum(1.0 / b for b in bits.values())

    measured = layer_sensitivity(["x", "y"], loss, (1, 4))
    assert measured == {"x": {1: 1.0, 4: 0.25}, "y": {1: 1.0, 4: 0.25}}
    assert all(len(c) <= 1 for c in calls)


def test_sensitivity_allocator_meets_the_adaptive_b_bar_and_reads_the_search_subset_only(trained):
    search = blobs(80, 2)
    cfg = QuantizationSettings(fixed_bits=(2,), adaptive={"t_margin": 0.3})
    assigned = allocations(trained, search, cfg, "uniform")
    counts = layer_counts(trained)
    adaptive_bits = average_bits(counts, assigned["adaptive"][0])
    assert average_bits(counts, assigned["sensitivity"][0]) <= adaptive_bits + 1e-9
    details = assigned["sensitivity"][1]["sensitivity"]
    assert details["subset"] == "search" and details["budget_avg_bits"] == pytest.approx(adaptive_bits)
    assert assigned["adaptive"][1]["search"]["n_utterances"] == 80


def test_the_search_can_score_the_log_likelihood_of_the_true_class(trained):
    search = blobs(80, 2)
    cfg = QuantizationSettings(fixed_bits=(2,), adaptive={"t_margin": 0.3, "signal": "log_likelihood"})
    details = allocations(trained, search, cfg, "uniform")["adaptive"][1]["search"]
    expected = -float(
        torch.nn.functional.cross_entropy(logits(trained, search.features), torch.as_tensor(search.labels))
    )
    assert details["signal"] == "log_likelihood" and details["baseline_score"] == pytest.approx(expected, rel=1e-5)
    assert all(t["score"] < 0 for t in details["trials"])  # nats, not a share of utterances
    accuracy = allocations(trained, search, QuantizationSettings(fixed_bits=(2,)), "uniform")["adaptive"][1]["search"]
    assert accuracy["signal"] == "accuracy" and 0 < accuracy["baseline_score"] <= 1


def test_quantization_aware_training_recovers_one_bit_accuracy_and_leaves_the_model_alone(trained):
    train, validation, test = blobs(600, 0), blobs(100, 1), blobs(400, 3)
    bits = {layer: 1 for layer in layer_counts(trained)}
    before = {k: v.clone() for k, v in trained.state_dict().items()}

    def accuracy(model):
        return float((predict(fake_quantize_model(model, bits, "uniform"), test.features) == test.labels).mean())

    tuned, history = quantization_aware_training(
        trained, bits, "uniform", train, validation, QATSettings(epochs=15, patience=5, learning_rate=1e-3), 32, seed=0
    )
    assert accuracy(tuned) >= accuracy(trained) + 0.02  # 8 more of 400 test utterances
    assert history["best_validation_accuracy"] == max(history["validation_accuracy"])
    assert all(torch.equal(before[k], v) for k, v in trained.state_dict().items())
