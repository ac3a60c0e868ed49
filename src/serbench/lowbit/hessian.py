"""Hessian-aware bit allocation (HAWQ-V2, Dong et al. 2020): the field's standard mixed-precision baseline.

A layer's sensitivity to quantization at ``b`` bits is its average Hessian
trace times the squared weight perturbation the quantizer causes (HAWQ-V2,
eq. 4: ``Ω_l(b) = Tr(H_l) / n_l · ||Q_b(W_l) - W_l||²``), the second-order term
of the loss change around a trained minimum. ``Tr(H_l)`` is estimated from its
Gauss-Newton part, plain backward passes (:mod:`serbench.lowbit.fisher`;
the whole Hessian block where the logits are piecewise linear in the layer's
weights), or as HAWQ-V2 did by Hutchinson's method, ``E[vᵀ H v]`` over
Rademacher vectors ``v`` (one Hessian-vector product per vector gives every
layer's block trace at once, as in PyHessian, Yao et al. 2020). Widths are
then chosen to minimise ``Σ_l Ω_l`` under a b̄ budget, by the same exhaustive search as the sensitivity allocator
(:func:`serbench.lowbit.sensitivity.allocate`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from serbench.device import model_device
from serbench.errors import UnknownNameError
from serbench.lowbit.fisher import Trace, both_traces, gradient_traces, trace_summary
from serbench.lowbit.layers import quantization_layers
from serbench.lowbit.quantizers import fake_quantize
from serbench.sequences import trim, valid_lengths


def hutchinson_traces(
    model: nn.Module,
    features: np.ndarray,
    labels: np.ndarray,
    lengths: np.ndarray | None = None,
    samples: int = 32,
    seed: int = 0,
) -> dict[str, Trace]:
    """Hutchinson estimate of each quantization layer's Hessian block trace of the mean cross-entropy loss.

    Each sample is one Hessian-vector product (a double backward pass) with a Rademacher vector ``v``:
    ``vᵀ H v`` per layer, averaged (HAWQ-V2's and PyHessian's estimator).

    Args:
        model: a trained model; evaluated in eval mode (dropout off), its weights unchanged; inputs go to its device.
        features: ``(N, dim)`` or ``(N, frames, dim)`` training inputs (``lengths`` ``(N,)`` valid frames).
        labels: ``(N,)`` class indices.
        samples: Rademacher vectors averaged.
        seed: their generator's seed.

    Returns:
        Layer -> :class:`~serbench.lowbit.fisher.Trace`: ``Tr(H_l)``, the sum of the Hessian's diagonal over
        the layer's parameters, and its standard error over the samples (0 with one sample).
    """
    model.eval()
    device = model_device(model)
    inputs, valid = torch.as_tensor(features, dtype=torch.float32), valid_lengths(features, lengths)
    target = torch.as_tensor(labels, device=device)
    params = dict(model.named_parameters())
    layers = quantization_layers(model)
    names = [name for layer_names in layers.values() for name in layer_names]
    loss = nn.functional.cross_entropy(model(trim(inputs, valid).to(device), valid.to(device)), target)
    gradients = torch.autograd.grad(loss, [params[n] for n in names], create_graph=True)
    generator = torch.Generator().manual_seed(seed)
    estimates = np.zeros((samples, len(layers)))  # (samples, layers): vᵀ H v per layer
    for k in range(samples):
        vectors = [(torch.randint(0, 2, g.shape, generator=generator).float() * 2 - 1).to(device) for g in gradients]
        products = torch.autograd.grad(gradients, [params[n] for n in names], vectors, retain_graph=True)
        per_tensor = dict(zip(names, (float((v * hv).sum()) for v, hv in zip(vectors, products))))
        estimates[k] = [sum(per_tensor[n] for n in layer_names) for layer_names in layers.values()]
    return trace_summary(layers, estimates, samples)


def curvature_traces(
    model: nn.Module,
    features: np.ndarray,
    labels: np.ndarray,
    lengths: np.ndarray | None,
    estimator: str,
    samples: int,
    batch: int,
    seed: int,
    hutchinson_utterances: int | None = None,
    fit_batch: int | None = None,
) -> dict[str, dict[str, Trace]]:
    """HAWQ-V2's ``Tr(H_l)`` (``"hessian"``) and FIT's ``Tr(Î_l)`` (``"fit"``) per layer, HAWQ's by a named
    estimator: ``gauss_newton`` (plain backward passes, ``batch`` utterances each, sharing their forward passes with
    FIT's: :func:`serbench.lowbit.fisher.both_traces`), ``hutchinson`` (``samples`` Hessian-vector products
    on the first ``hutchinson_utterances`` utterances, all by default: :func:`hutchinson_traces`; FIT's traces then
    run alone, ``fit_batch`` utterances a backward pass, ``batch`` by default) or ``auto`` (the family's
    ``hawq_estimator``, :class:`serbench.studies.quantization.models.base.Classifier`). FIT's traces read every
    utterance.

    Raises:
        UnknownNameError: another estimator.
    """
    if estimator == "auto":
        estimator = getattr(model, "hawq_estimator", "hutchinson")
    if estimator == "gauss_newton":
        both = both_traces(model, features, labels, lengths, seed, batch=batch)
        return {"hessian": both["sampled"], "fit": both["true"]}
    if estimator == "hutchinson":
        first = slice(hutchinson_utterances)
        lengths_first = None if lengths is None else lengths[first]
        return {
            "hessian": hutchinson_traces(model, features[first], labels[first], lengths_first, samples, seed),
            "fit": gradient_traces(model, features, labels, lengths, "true", seed, fit_batch or batch),
        }
    raise UnknownNameError(f"unknown Hessian trace estimator {estimator!r}; expected auto, gauss_newton or hutchinson")


def trace_sensitivity(
    model: nn.Module, traces: dict[str, Trace], quantizer: str, candidates: Sequence[int]
) -> dict[str, dict[int, float]]:
    """HAWQ-V2's ``Ω_l(b) = Tr(H_l) / n_l · ||Q_b(W_l) - W_l||²`` for every layer and candidate width; with the
    empirical Fisher's traces, FIT's (Zandonati et al. 2023, eq. 7: the same form, ``Tr(Î_l)`` for ``Tr(H_l)``).

    Args:
        model: the trained model whose weights are quantized.
        traces: one of :func:`curvature_traces`.
        quantizer: a registered quantizer (the one the widths are for).
        candidates: bit-widths.

    Returns:
        Layer -> width -> ``Ω`` (the input :func:`~serbench.lowbit.sensitivity.allocate` minimises). A
        negative trace estimate (a block flat or concave around the weights, or too few Hutchinson samples)
        counts as 0: the quadratic model then predicts no loss increase.
    """
    params = dict(model.named_parameters())
    out: dict[str, dict[int, float]] = {}
    for layer, names in quantization_layers(model).items():
        count = sum(params[n].numel() for n in names)
        out[layer] = {
            b: max(traces[layer].value, 0.0)
            / count
            * sum(
                float(((fake_quantize(params[n].detach(), b, quantizer) - params[n].detach()) ** 2).sum())
                for n in names
            )
            for b in candidates
        }
    return out
