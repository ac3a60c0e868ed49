"""Assignment scores replay the module outputs of earlier runs that share the widths so far (the float run's before
the first quantized layer among them): exactly the logits a full run of the quantized model gives, for every
family."""

import gc
import weakref

import numpy as np
import pytest
import torch

from conftest import family
from serbench.dataset import Subset
from serbench.lowbit.layers import quantization_layers
from serbench.lowbit.quantizers import fake_quantize_model
from serbench.studies import quantization
from serbench.studies.quantization.models import logits
from serbench.studies.quantization.scoring import AssignmentScores, ModuleOutputs


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
    assignments += [{layer: 3 for layer in layers[:-1]} | {layers[-1]: b} for b in (2, 4)]  # a shared front
    scores = AssignmentScores(model, data, "uniform")
    for bits in assignments:
        full = logits(fake_quantize_model(model, bits, "uniform"), data.features, data.lengths)
        assert torch.equal(scores.logits(bits), full), bits
    assert scores._outputs.usable  # the replay ran, not the fallback


def recorded_gru():
    """A random AttentionGRU, a run of it in 3 batches, and the float run's :class:`ModuleOutputs`."""
    torch.manual_seed(0)
    model = family("attention_gru", 12, 4).eval()
    data = subset("frames")
    run = lambda m: logits(m, data.features, data.lengths, batch_size=16)  # noqa: E731
    return model, run, ModuleOutputs(model, run)


def test_a_replay_runs_only_what_follows_the_first_quantized_layer():
    model, run, recorded = recorded_gru()
    assert recorded.pattern == ("gru", "attention", "score", "out") and recorded.usable
    quantized = fake_quantize_model(model, {"out": 2}, "uniform")
    expected = run(quantized)

    def must_not_run(*args, **kwargs):
        raise AssertionError("the GRU ran again")

    quantized.gru.forward = must_not_run  # replayed: the float run's GRU states stand in
    assert torch.equal(recorded.logits(quantized, {"out": (("out", 2),)}, run), expected)


def gru_widths(bits: int) -> dict:
    return {"gru": (("gru.hh_l0", bits), ("gru.ih_l0", bits))}


def test_a_front_quantized_as_an_earlier_run_s_is_replayed_and_one_quantized_otherwise_runs():
    model, run, recorded = recorded_gru()
    gru4, gru2 = ({layer: b for layer in ("gru.hh_l0", "gru.ih_l0")} for b in (4, 2))
    first = fake_quantize_model(model, gru4 | {"out": 2}, "uniform")
    expected = run(first)
    assert torch.equal(recorded.logits(first, gru_widths(4) | {"out": (("out", 2),)}, run), expected)
    second = fake_quantize_model(model, gru4 | {"out": 3}, "uniform")
    expected = run(second)
    second.gru.forward = lambda *args, **kwargs: pytest.fail("the GRU ran again at the widths it ran at before")
    assert torch.equal(recorded.logits(second, gru_widths(4) | {"out": (("out", 3),)}, run), expected)
    third = fake_quantize_model(model, gru2, "uniform")
    expected, calls, forward = run(third), [], third.gru.forward
    third.gru.forward = lambda *args, **kwargs: calls.append(1) or forward(*args, **kwargs)
    assert torch.equal(recorded.logits(third, gru_widths(2), run), expected)
    assert len(calls) == 3  # a front at new widths runs, once per batch


def test_outputs_beyond_the_byte_budget_are_dropped_and_scores_stay_exact(monkeypatch):
    torch.manual_seed(0)
    model = family("cnn1d", 12, 4).eval()
    data = subset("frames")
    scores = AssignmentScores(model, data, "uniform")
    scores.logits({})
    float_run = scores._outputs._bytes
    monkeypatch.setattr(quantization.scoring, "MAX_RECORDED_BYTES", float_run + 1)
    for bits in ({"conv1": 2}, {"conv1": 3}, {"conv1": 2, "out": 4}):
        full = logits(fake_quantize_model(model, bits, "uniform"), data.features, data.lengths)
        assert torch.equal(scores.logits(bits), full), bits
        assert scores._outputs._bytes <= float_run + 1


def test_kept_outputs_go_with_their_scores_without_waiting_for_the_garbage_collector():
    torch.manual_seed(0)
    scores = AssignmentScores(family("cnn1d", 12, 4).eval(), subset("frames"), "uniform")
    scores.logits({"out": 2})
    kept = weakref.ref(scores._outputs)
    gc.disable()
    try:
        del scores
        assert kept() is None  # freed by reference counting: no cycle holds a subset's outputs
    finally:
        gc.enable()


@pytest.mark.parametrize("name", ["mlp", "lstm", "attention_gru", "cnn1d"])
def test_batched_scores_are_each_utterances_own_in_the_inputs_order(name):
    torch.manual_seed(0)
    model = family(name, 12, 4).eval()
    data = subset(model.input_level)
    batched = logits(model, data.features, data.lengths, batch_size=7)  # 40 utterances sorted longest first, cut
    alone = torch.cat([logits(model, data.features[i : i + 1], data.lengths[i : i + 1]) for i in range(40)])
    torch.testing.assert_close(batched, alone, rtol=1e-5, atol=1e-6)
