"""The HAWQ-V2 allocator's cost per trained model: one Hutchinson Hessian-vector product beside one gradient, and
each trace estimator whole beside the gradient of the same utterances (the floor of any estimate that reads them).

The allocator curves (``quantization_allocators``) estimate every layer's Hessian trace from
``hessian_samples`` Hessian-vector products (8 by default, 32 timed here) on training utterances; for the
frame-level families this was most of a cell's work. A Hessian-vector product by double backward costs a few
gradients (Pearlmutter 1994): the gradient of the same loss on the same utterances is its floor. EmoDB-shaped
inputs (63 frames of 180 features, 7 classes), one thread, each family's default settings.

Run on demand: ``pytest tests/benchmarks --benchmark-only``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits
from torch import nn

from serbench.lowbit.fisher import both_traces
from serbench.lowbit.hessian import hutchinson_traces
from serbench.settings.quantization import (
    AllocatorCurveSettings,
    AttentionGRUSettings,
    CNN1DSettings,
    LSTMSettings,
    MLPSettings,
)
from serbench.studies.quantization.models import build_model

UTTERANCES, FRAMES, DIM, CLASSES = 256, 63, 180, 7
SETTINGS = {
    "mlp": MLPSettings(),
    "lstm": LSTMSettings(),
    "attention_gru": AttentionGRUSettings(),
    "cnn1d": CNN1DSettings(),
}


def loss_and_params(family: str) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The mean cross-entropy of a random model on random utterances (eval mode) and its weights."""
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = build_model(family, input_dim=DIM, n_classes=CLASSES, **SETTINGS[family].model_dump()).eval()
    shape = (UTTERANCES, DIM) if family == "mlp" else (UTTERANCES, FRAMES, DIM)
    inputs = torch.randn(shape, generator=generator)
    labels = torch.randint(0, CLASSES, (UTTERANCES,), generator=generator)
    loss = nn.functional.cross_entropy(model(inputs, torch.full((UTTERANCES,), FRAMES)), labels)
    return loss, list(model.parameters())


def gradient(family: str) -> list[torch.Tensor]:
    """The loss's gradient: a forward and a backward pass."""
    loss, params = loss_and_params(family)
    return list(torch.autograd.grad(loss, params))


def gradient_with_graph(family: str) -> list[torch.Tensor]:
    """The gradient with its own graph kept (``create_graph``), paid once per trained model."""
    loss, params = loss_and_params(family)
    return list(torch.autograd.grad(loss, params, create_graph=True))


def hessian_vector_product(family: str) -> list[torch.Tensor]:
    """What one Hutchinson sample of :func:`serbench.lowbit.hessian.hutchinson_traces` costs: the gradient
    with its graph kept, then its product with a Rademacher vector by a second backward pass; one sample costs
    this less :func:`gradient_with_graph`."""
    loss, params = loss_and_params(family)
    gradients = torch.autograd.grad(loss, params, create_graph=True)
    vectors = [
        torch.randint(0, 2, g.shape, generator=torch.Generator().manual_seed(1)).float() * 2 - 1 for g in gradients
    ]
    return list(torch.autograd.grad(gradients, params, vectors))


def one_thread(benchmark, group: str, arm, family: str, rounds: int):
    """``arm(family)`` timed on one thread in ``group``, ``rounds`` rounds after a warm-up round when there are
    more than two."""
    benchmark.group = group
    with threadpool_limits(1):
        torch.set_num_threads(1)
        return benchmark.pedantic(arm, args=(family,), rounds=rounds, warmup_rounds=int(rounds > 2))


@pytest.mark.benchmark(group="Hessian")
@pytest.mark.parametrize("family", list(SETTINGS))
@pytest.mark.parametrize("arm", [gradient, gradient_with_graph, hessian_vector_product], ids=lambda f: f.__name__)
def test_hessian_cost(benchmark, family, arm):
    result = one_thread(benchmark, f"{family}: {UTTERANCES} utterances, 1 thread", arm, family, rounds=3)
    _, params = loss_and_params(family)
    assert [r.shape for r in result] == [p.shape for p in params]
    assert all(torch.isfinite(r).all() for r in result)


def model_and_utterances(family: str) -> tuple[nn.Module, np.ndarray, np.ndarray, np.ndarray | None]:
    """A random model of ``family`` and random utterances, as the trace estimators read them."""
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    model = build_model(family, input_dim=DIM, n_classes=CLASSES, **SETTINGS[family].model_dump()).eval()
    shape = (UTTERANCES, DIM) if family == "mlp" else (UTTERANCES, FRAMES, DIM)
    lengths = None if family == "mlp" else np.full(UTTERANCES, FRAMES)
    return model, rng.normal(size=shape).astype(np.float32), rng.integers(0, CLASSES, UTTERANCES), lengths


def hutchinson_32(family: str) -> dict[str, float]:
    """HAWQ-V2's traces as the named option ``hutchinson`` estimates them: 32 Hessian-vector products."""
    return {layer: t.value for layer, t in hutchinson_traces(*model_and_utterances(family), samples=32).items()}


def gauss_newton_and_fisher(family: str) -> dict[str, float]:
    """The default: the Gauss-Newton (HAWQ) and empirical Fisher (FIT) traces, one forward and two backward passes
    per ``curves.trace_batch`` utterances."""
    traces = both_traces(*model_and_utterances(family), seed=0, batch=AllocatorCurveSettings().trace_batch)
    return {layer: t.value for layer, t in traces["sampled"].items()}


def whole_gradient(family: str) -> dict[str, float]:
    """The floor: one gradient of the mean loss over the same utterances, batched."""
    model, features, labels, lengths = model_and_utterances(family)
    inputs = torch.as_tensor(features)
    valid = torch.full((UTTERANCES,), FRAMES) if lengths is not None else None
    loss = nn.functional.cross_entropy(model(inputs, valid), torch.as_tensor(labels))
    gradients = torch.autograd.grad(loss, list(model.parameters()))
    return {name: float(g.pow(2).sum()) for (name, _), g in zip(model.named_parameters(), gradients)}


@pytest.mark.benchmark(group="traces")
@pytest.mark.parametrize("family", list(SETTINGS))
@pytest.mark.parametrize("arm", [hutchinson_32, gauss_newton_and_fisher, whole_gradient], ids=lambda f: f.__name__)
def test_trace_estimator_cost(benchmark, family, arm):
    result = one_thread(benchmark, f"traces, {family}: {UTTERANCES} utterances, 1 thread", arm, family, rounds=2)
    assert result and np.isfinite(list(result.values())).all()
