"""HAWQ-V2's Hessian traces (Hutchinson) against the exact Hessian, and the sensitivity they give."""

import numpy as np
import pytest
import torch
from torch.func import functional_call

from conftest import family
from serbench.quantization.hessian import hessian_sensitivity, hessian_traces
from serbench.quantization.layers import quantization_layers
from serbench.quantization.quantizers import fake_quantize


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    model = family("mlp", 5, 3, hidden=(4,), dropout=0.0)
    rng = np.random.default_rng(0)
    features = rng.normal(size=(64, 5)).astype(np.float32)
    labels = rng.integers(0, 3, 64)
    return model, features, labels


def exact_traces(model, features, labels):
    """Each layer's Hessian block trace, from the full Hessian of the loss in that layer's parameters."""
    model.eval()
    params = {n: p.detach() for n, p in model.named_parameters()}
    x, y = torch.as_tensor(features), torch.as_tensor(labels)
    out = {}
    for layer, names in quantization_layers(model).items():

        def loss(*tensors, names=names):
            call = params | dict(zip(names, tensors))
            return torch.nn.functional.cross_entropy(functional_call(model, call, (x, None)), y)

        blocks = torch.autograd.functional.hessian(loss, tuple(params[n] for n in names))
        out[layer] = sum(
            float(torch.diagonal(blocks[i][i].reshape(params[n].numel(), -1)).sum()) for i, n in enumerate(names)
        )
    return out


def test_hutchinson_estimates_each_layers_exact_trace(small):
    model, features, labels = small
    exact = exact_traces(model, features, labels)
    estimated = hessian_traces(model, features, labels, samples=2000, seed=1)
    assert set(estimated) == set(exact) == {"net.0", "net.3"}
    for layer in exact:
        assert estimated[layer] == pytest.approx(exact[layer], rel=0.15)
    assert hessian_traces(model, features, labels, samples=8, seed=1) == hessian_traces(
        model, features, labels, samples=8, seed=1
    )  # seeded: reproducible


def test_sensitivity_is_the_average_trace_times_the_squared_perturbation(small):
    model, features, labels = small
    traces = {"net.0": 2.0, "net.3": 0.5}
    omega = hessian_sensitivity(model, traces, "uniform", (1, 2, 8))
    weight, bias = model.net[3].weight.detach(), model.net[3].bias.detach()
    perturbation = sum(float(((fake_quantize(t, 2, "uniform") - t) ** 2).sum()) for t in (weight, bias))
    assert omega["net.3"][2] == pytest.approx(0.5 / (weight.numel() + bias.numel()) * perturbation)
    for layer in omega:
        assert omega[layer][1] > omega[layer][2] > omega[layer][8] >= 0  # fewer bits, larger perturbation
