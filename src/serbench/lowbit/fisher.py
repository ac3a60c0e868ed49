"""Curvature traces from plain per-utterance gradients: the Gauss-Newton trace for HAWQ, the empirical Fisher's
for FIT.

A layer's block trace of a curvature matrix of the form ``(1/N) Σ_i g_i g_iᵀ``
is ``(1/N) Σ_i ||g_i||²`` restricted to the layer's parameters, so it needs
plain backward passes, no Hessian-vector product (and with a random sign on
each ``g_i``, one pass serves a batch of utterances: ``E||Σ_i g_i||²`` is
``Σ_i E||g_i||²``, the cross terms averaging out):

- ``sampled``: the generalised Gauss-Newton matrix ``(1/N) Σ_i J_iᵀ H_i J_i``
  (Schraudolph 2002; Martens 2020, sec. 9), ``J_i`` the Jacobian of the
  utterance's logits and ``H_i = diag(p_i) - p_i p_iᵀ`` the cross-entropy's
  Hessian in them. With ``S_i = diag(√p_i) - p_i √p_iᵀ`` (so ``S_i S_iᵀ = H_i``)
  and a Rademacher vector ``ε_i`` over the classes, ``g_i = J_iᵀ S_i ε_i`` has
  ``E[g_i g_iᵀ] = J_iᵀ H_i J_i``: an unbiased trace from one backward pass, the
  random-sign form of BackPACK's Monte-Carlo GGN (Dangel et al. 2020). A label
  drawn from the softmax (``DiagGGNMC``, Sophia) is unbiased too, but on a
  confident model its rare draws of other classes carry the whole trace, so
  256 utterances put it an order of magnitude low. Around a trained minimum
  the GGN is the part of the Hessian HAWQ-V2's trace measures (where the
  logits are piecewise linear in a layer's weights, as in the MLP and the
  1DCNN, the block's residual term is zero); unlike Hutchinson's ``E[vᵀHv]``
  it is never negative.
- ``true``: ``g_i`` is the gradient of ``-log p(y_i | x_i)`` at the true
  label: the empirical Fisher information, FIT's (Zandonati et al. 2023,
  eq. 6: ``Tr(Î(θ_l))`` from first-order gradients).

Each trace comes with its standard error from the spread of the batches'
estimates (utterances and signs together), the noise a caller compares a
ranking change with.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
import torch
from torch import nn

from serbench.device import model_device
from serbench.lowbit.layers import quantization_layers
from serbench.sequences import trim, valid_lengths

Target = Literal["sampled", "true"]


class Trace(NamedTuple):
    """A layer's estimated block trace and its standard error (same units: the loss's per parameter²)."""

    value: float
    standard_error: float


def gradient_traces(
    model: nn.Module,
    features: np.ndarray,
    labels: np.ndarray,
    lengths: np.ndarray | None = None,
    target: Target = "sampled",
    seed: int = 0,
    batch: int = 1,
) -> dict[str, Trace]:
    """Each quantization layer's ``(1/N) Σ_i ||g_i||²`` over ``N`` utterances, from one backward pass per batch.

    Args:
        model: a trained model; evaluated in eval mode (dropout off), its weights unchanged; inputs go to its device.
        features: ``(N, dim)`` or ``(N, frames, dim)`` training inputs (``lengths`` ``(N,)`` valid frames).
        labels: ``(N,)`` class indices (read for ``target="true"``).
        target: ``sampled`` (random signs through the softmax's Hessian: the Gauss-Newton trace, HAWQ's) or
            ``true`` (the empirical Fisher trace, FIT's).
        seed: seeds the signs.
        batch: utterances per backward pass. Each utterance's ``g_i`` carries a random sign of its own
            (``S_i ε_i`` already does), so ``E||Σ_i g_i||² = Σ_i E||g_i||²``: one pass per batch is unbiased,
            its cross terms add noise, which the standard error includes. With 1, ``true`` is exact.

    Returns:
        Layer -> :class:`Trace` (the sum of the matrix's diagonal over the layer's parameters).

    Raises:
        ValueError: an unknown ``target``, no utterances or ``batch < 1``.
    """
    return both_traces(model, features, labels, lengths, seed, (target,), batch)[target]


def both_traces(
    model: nn.Module,
    features: np.ndarray,
    labels: np.ndarray,
    lengths: np.ndarray | None,
    seed: int,
    targets: tuple[Target, ...] = ("sampled", "true"),
    batch: int = 1,
) -> dict[str, dict[str, Trace]]:
    """:func:`gradient_traces` for each of ``targets`` (default: Gauss-Newton and empirical Fisher), from one
    forward pass per batch (longest utterances first): target -> layer -> :class:`Trace`.

    Raises:
        ValueError: an unknown target, no utterances or ``batch < 1``.
    """
    if not set(targets) <= {"sampled", "true"} or len(features) == 0 or batch < 1:
        raise ValueError(
            f"gradient traces need targets 'sampled' or 'true', utterances and batch >= 1 ({targets}, "
            f"{len(features)}, {batch})"
        )
    model.eval()
    device = model_device(model)
    inputs, valid = torch.as_tensor(features, dtype=torch.float32), valid_lengths(features, lengths)
    target_labels = torch.as_tensor(labels)
    params = dict(model.named_parameters())
    layers = quantization_layers(model)
    tensors = [params[n] for names in layers.values() for n in names]
    generator = torch.Generator().manual_seed(seed)
    chunks = torch.argsort(valid, descending=True, stable=True).split(batch)
    squares = {t: np.zeros((len(chunks), len(layers))) for t in targets}  # (batches, layers): ||Σ_i g_i||²
    for c, chunk in enumerate(chunks):
        n = valid[chunk]
        scores = model(trim(inputs[chunk], n).to(device), n.to(device))  # (batch, classes)
        probabilities = torch.softmax(scores.detach().double().cpu(), dim=1)  # (batch, classes)
        for k, target in enumerate(targets):
            if target == "sampled":
                signs = torch.randint(0, 2, probabilities.shape, generator=generator).double() * 2 - 1
                root = probabilities.sqrt()
                directions = root * signs - probabilities * (root * signs).sum(dim=1, keepdim=True)  # rows S_i ε_i
            else:
                residual = probabilities - nn.functional.one_hot(target_labels[chunk], probabilities.shape[1])
                directions = residual * (torch.randint(0, 2, (len(chunk), 1), generator=generator) * 2 - 1)
            retain = k < len(targets) - 1
            # the gradient of the scalar Σ scores·directions, the vector-Jacobian product itself: passing the
            # directions as grad_outputs would import torch's symbolic shapes (sympy: 0.4 CPU-s a job)
            product = (scores * directions.to(device, scores.dtype)).sum()
            grads = torch.autograd.grad(product, tensors, retain_graph=retain)
            per_tensor = iter(float(g.double().pow(2).sum()) for g in grads)
            squares[target][c] = [sum(next(per_tensor) for _ in names) for names in layers.values()]
    return {target: trace_summary(layers, values, len(inputs)) for target, values in squares.items()}


def trace_summary(layers: dict[str, list[str]], estimates: np.ndarray, count: int) -> dict[str, Trace]:
    """Layer -> ``Σ_k estimates[k] / count`` over draws ``k`` (``estimates`` ``(draws, layers)``: batches' summed
    squares, or Hutchinson's ``vᵀHv`` with ``count`` = draws) with its standard error from the draws' spread (draws
    of one size but the last)."""
    means = estimates.sum(axis=0) / count
    spread = estimates.std(axis=0, ddof=1) if len(estimates) > 1 else np.zeros_like(means)
    errors = np.sqrt(len(estimates)) * spread / count
    return {layer: Trace(float(m), float(e)) for layer, m, e in zip(layers, means, errors)}
