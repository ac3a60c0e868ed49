"""HAWQ-V2's Hessian traces (Hutchinson, Gauss-Newton) and FIT's Fisher traces against exact matrices, and the
sensitivity they give."""

import numpy as np
import pytest
import torch
from torch.func import functional_call

from conftest import family
from serbench.errors import UnknownNameError
from serbench.lowbit.fisher import Trace, both_traces, gradient_traces
from serbench.lowbit.hessian import curvature_traces, hutchinson_traces, trace_sensitivity
from serbench.lowbit.layers import quantization_layers
from serbench.lowbit.quantizers import fake_quantize
from serbench.studies.quantization.models import MODELS


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    model = family("mlp", 5, 3, hidden=(4,), dropout=0.0)
    rng = np.random.default_rng(0)
    features = rng.normal(size=(64, 5)).astype(np.float32)
    labels = rng.integers(0, 3, 64)
    return model, features, labels


def exact_traces(model, features, labels, lengths=None):
    """Each layer's Hessian block trace, from the full Hessian of the loss in that layer's parameters."""
    model.eval()
    params = {n: p.detach() for n, p in model.named_parameters()}
    x, y = torch.as_tensor(features), torch.as_tensor(labels)
    valid = None if lengths is None else torch.as_tensor(lengths)
    out = {}
    for layer, names in quantization_layers(model).items():

        def loss(*tensors, names=names):
            call = params | dict(zip(names, tensors))
            return torch.nn.functional.cross_entropy(functional_call(model, call, (x, valid)), y)

        blocks = torch.autograd.functional.hessian(loss, tuple(params[n] for n in names))
        out[layer] = sum(
            float(torch.diagonal(blocks[i][i].reshape(params[n].numel(), -1)).sum()) for i, n in enumerate(names)
        )
    return out


def exact_outer_traces(model, features, labels, target, lengths=None):
    """Each layer's trace of (1/N) Σ_i J_iᵀ M_i J_i from each utterance's full Jacobian: M_i the softmax's Hessian
    diag(p) - ppᵀ (Gauss-Newton) or (p - e_y)(p - e_y)ᵀ (empirical Fisher)."""
    model.eval()
    params = {n: p.detach() for n, p in model.named_parameters()}
    out = dict.fromkeys(quantization_layers(model), 0.0)
    valid = [None] * len(features) if lengths is None else torch.as_tensor(lengths)[:, None]
    for x, y, n in zip(torch.as_tensor(features), torch.as_tensor(labels), valid):
        for layer, names in quantization_layers(model).items():

            def scores(*tensors, names=names, x=x, n=n):
                return functional_call(model, params | dict(zip(names, tensors)), (x[None], n))[0]

            jacobians = torch.autograd.functional.jacobian(scores, tuple(params[n] for n in names))
            jacobian = torch.cat([j.reshape(j.shape[0], -1) for j in jacobians], dim=1).double()  # (classes, P)
            p = torch.softmax(scores(*(params[n] for n in names)).detach().double(), dim=0)
            residual = p - torch.nn.functional.one_hot(y, len(p)).double()
            middle = torch.diag(p) - torch.outer(p, p) if target == "sampled" else torch.outer(residual, residual)
            out[layer] += float(torch.trace(jacobian.T @ middle @ jacobian)) / len(features)
    return out


def test_hutchinson_estimates_each_layers_exact_trace(small):
    model, features, labels = small
    exact = exact_traces(model, features, labels)
    estimated = hutchinson_traces(model, features, labels, samples=2000, seed=1)
    assert set(estimated) == set(exact) == {"net.0", "net.3"}
    for layer in exact:
        assert estimated[layer].value == pytest.approx(exact[layer], rel=0.15)
        assert abs(estimated[layer].value - exact[layer]) < 4 * estimated[layer].standard_error  # an honest error
    assert hutchinson_traces(model, features, labels, samples=8, seed=1) == hutchinson_traces(
        model, features, labels, samples=8, seed=1
    )  # seeded: reproducible


@pytest.mark.parametrize("target", ["sampled", "true"])
@pytest.mark.parametrize("batch", [1, 8])
def test_gradient_traces_are_unbiased_for_the_gauss_newton_and_fisher_traces(small, target, batch):
    model, features, labels = small
    exact = exact_outer_traces(model, features, labels, target)
    runs = [gradient_traces(model, features, labels, None, target, seed, batch) for seed in range(100)]
    exact_fisher = target == "true" and batch == 1  # no draws: the empirical Fisher's trace is exact
    for layer in exact:
        values = np.array([r[layer].value for r in runs])
        assert values.mean() == pytest.approx(exact[layer], rel=1e-6 if exact_fisher else 0.05)
        # a run's standard error (over utterances and their signs) covers at least the spread of its sign draws
        assert np.mean([r[layer].standard_error for r in runs]) >= 0.8 * values.std()
    assert (runs[0] == runs[1]) == exact_fisher


@pytest.mark.parametrize("name", ["mlp", "cnn1d", "attention_gru"])
def test_the_gauss_newton_trace_is_the_hessians_exactly_where_the_family_says_so(name):
    # a block whose logits are piecewise linear in its own weights has no second-derivative term in its Hessian
    torch.manual_seed(0)
    sizes = {"mlp": {"hidden": (4,)}, "cnn1d": {"channels": 3, "kernel_size": 3}}
    model = family(name, 3, 3, dropout=0.0, **sizes.get(name, {"hidden": 3, "attention_dim": 2}))
    rng = np.random.default_rng(1)
    shape, lengths = ((16, 3), None) if name == "mlp" else ((16, 5, 3), rng.integers(2, 6, 16))
    features, labels = rng.normal(size=shape).astype(np.float32) * 2, rng.integers(0, 3, 16)
    exact = exact_traces(model, features, labels, lengths)
    gauss_newton = exact_outer_traces(model, features, labels, "sampled", lengths)
    equal = all(gauss_newton[layer] == pytest.approx(exact[layer], rel=1e-4) for layer in exact)
    assert equal == type(model).piecewise_linear_blocks


def test_curvature_traces_name_their_estimator(small):
    model, features, labels = small
    hutchinson = curvature_traces(model, features, labels, None, "hutchinson", 8, 4, 1)
    assert hutchinson["hessian"] == hutchinson_traces(model, features, labels, None, 8, 1)
    assert hutchinson["fit"] == gradient_traces(model, features, labels, None, "true", 1, 4)
    first = curvature_traces(model, features, labels, None, "hutchinson", 8, 4, 1, hutchinson_utterances=5)
    assert first["hessian"] == hutchinson_traces(model, features[:5], labels[:5], None, 8, 1)  # the first 5 only
    assert first["fit"] == hutchinson["fit"]  # FIT reads every utterance
    gauss_newton = curvature_traces(model, features, labels, None, "gauss_newton", 8, 4, 1)
    both = both_traces(model, features, labels, None, 1, batch=4)  # one forward pass per batch for both traces
    assert (gauss_newton["hessian"], gauss_newton["fit"]) == (both["sampled"], both["true"])
    assert curvature_traces(model, features, labels, None, "auto", 8, 4, 1) == gauss_newton  # the MLP's own
    alone = curvature_traces(model, features, labels, None, "hutchinson", 8, 4, 1, fit_batch=16)
    assert alone["fit"] == gradient_traces(model, features, labels, None, "true", 1, 16) != hutchinson["fit"]
    assert alone["hessian"] == hutchinson["hessian"]
    shared = curvature_traces(model, features, labels, None, "gauss_newton", 8, 4, 1, fit_batch=16)
    assert shared == gauss_newton  # beside Gauss-Newton traces FIT's share their passes
    with pytest.raises(UnknownNameError, match="hutchinson"):
        curvature_traces(model, features, labels, None, "pyhessian", 8, 4, 1)


def test_sensitivity_is_the_average_trace_times_the_squared_perturbation(small):
    model, features, labels = small
    traces = {"net.0": Trace(2.0, 0.1), "net.3": Trace(0.5, 0.1)}
    omega = trace_sensitivity(model, traces, "uniform", (1, 2, 8))
    weight, bias = model.net[3].weight.detach(), model.net[3].bias.detach()
    perturbation = sum(float(((fake_quantize(t, 2, "uniform") - t) ** 2).sum()) for t in (weight, bias))
    assert omega["net.3"][2] == pytest.approx(0.5 / (weight.numel() + bias.numel()) * perturbation)
    for layer in omega:
        assert omega[layer][1] > omega[layer][2] > omega[layer][8] >= 0  # fewer bits, larger perturbation


def test_every_family_names_the_estimator_auto_takes_and_exact_families_take_gauss_newton():
    assert {name: cls.hawq_estimator for name, cls in MODELS.items()} == {
        "mlp": "gauss_newton",
        "lstm": "gauss_newton",
        "attention_gru": "hutchinson",
        "cnn1d": "gauss_newton",
    }
    assert all(cls.hawq_estimator == "gauss_newton" for cls in MODELS.values() if cls.piecewise_linear_blocks)
