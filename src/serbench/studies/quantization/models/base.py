"""What every downstream classifier shares: input standardization, the input level it reads, prediction."""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from serbench.device import model_device, on_device
from serbench.sequences import trim, valid_lengths


class Classifier(nn.Module):
    """Base of the registered classifiers.

    Subclasses set :attr:`input_level` to ``"utterance"`` (inputs ``(batch, dim)``)
    or ``"frames"`` (inputs ``(batch, frames, dim)`` with ``lengths``), and call
    :meth:`standardize` first in ``forward``. The training split's feature mean
    and std live in buffers, so a saved model takes raw features.

    :attr:`piecewise_linear_blocks` is True where the logits are piecewise linear
    in each layer's own weights (linear and convolution layers between ReLUs,
    masks and means): each layer's Hessian block then has no second-derivative
    term and equals its Gauss-Newton block, so HAWQ's traces can be taken from
    plain gradients (:mod:`serbench.lowbit.fisher`). Recurrent and
    attention layers are not. :attr:`hawq_estimator` is the trace estimator
    ``curves.hessian_estimator: auto`` uses for the family: ``gauss_newton``
    where it is exact, and for the LSTM, where on three EmoDB models of the
    paper's features its traces gave 256-sample Hutchinson's HAWQ widths at all
    18 budgets (on eGeMAPS, Hutchinson finds its recurrent blocks' traces
    negative, no minimum for HAWQ's model: docs/running.md); ``hutchinson``
    for the AttentionGRU, whose widths moved at 8 of 18.
    """

    input_level = "utterance"
    piecewise_linear_blocks = False
    hawq_estimator = "hutchinson"

    def __init__(self, input_dim: int):
        super().__init__()
        self.register_buffer("feature_mean", torch.zeros(input_dim))
        self.register_buffer("feature_std", torch.ones(input_dim))

    def standardize(self, features: torch.Tensor) -> torch.Tensor:
        """``(features - mean) / std`` over the last axis; shape unchanged."""
        return (features - self.feature_mean) / self.feature_std

    def fit_standardization(self, features: np.ndarray, lengths: np.ndarray | None = None) -> None:
        """Set the ``feature_mean``/``feature_std`` buffers from training features only.

        For frame-level inputs ``(N, frames, dim)`` only each utterance's first
        ``lengths`` frames count (padding is left out); a zero std becomes 1.
        """
        if features.ndim == 3:
            flat = features[np.arange(features.shape[1])[None, :] < valid_lengths(features, lengths).numpy()[:, None]]
        else:
            flat = features
        # float64 sums: numpy's float32 reductions round differently with the array's memory alignment, which
        # would make a model depend on what else its process allocated
        flat = flat.astype(np.float64)
        std = flat.std(axis=0)
        self.feature_mean.copy_(torch.as_tensor(flat.mean(axis=0)))
        self.feature_std.copy_(torch.as_tensor(np.where(std > 0, std, 1.0)))


class LengthBatches(NamedTuple):
    """Inputs in batches of similar lengths, longest first: ``batches`` ``[(inputs (batch, frames, dim) cut to the
    batch's longest utterance, lengths (batch,))]`` and ``order`` ``(N,)``, the input row of each row of their
    concatenation. Made once (:func:`length_batches`), a subset scored many times is gathered and cut once."""

    batches: list[tuple[torch.Tensor, torch.Tensor]]
    order: torch.Tensor


# Utterances per scoring batch: on TESS's test split 128 pass as fast as 256 or faster (test_test_pass.py).
SCORING_BATCH = 128


def length_batches(
    features: np.ndarray, lengths: np.ndarray | None = None, batch_size: int = SCORING_BATCH
) -> LengthBatches:
    """``(N, dim)`` or ``(N, frames, dim)`` inputs with ``lengths (N,)`` as :class:`LengthBatches`: frame sequences
    sorted longest first, so each batch is cut (:func:`trim`) to lengths close to its own and little padding is
    computed; utterance-level inputs in their own order."""
    inputs, valid = torch.as_tensor(features, dtype=torch.float32), valid_lengths(features, lengths)
    order = torch.argsort(valid, descending=True, stable=True) if inputs.ndim == 3 else torch.arange(len(valid))
    chunks = order.split(batch_size)
    return LengthBatches([(trim(inputs[chunk], valid[chunk]), valid[chunk]) for chunk in chunks], order)


@torch.inference_mode()
def batch_logits(model: nn.Module, batches: LengthBatches, device: torch.device | str | None = None) -> torch.Tensor:
    """Class scores ``(N, classes)`` (on the CPU, in the inputs' order) of :func:`length_batches`, eval mode, on
    ``device`` (default: the model's; a model elsewhere runs as a copy there)."""
    model = on_device(model, device).eval()
    device = model_device(model)
    ordered = torch.cat([model(x.to(device), n.to(device)).cpu() for x, n in batches.batches])
    return ordered[torch.argsort(batches.order)]


def logits(
    model: nn.Module,
    features: np.ndarray,
    lengths: np.ndarray | None = None,
    batch_size: int = SCORING_BATCH,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Class scores ``(N, classes)`` (on the CPU) of ``(N, dim)`` or ``(N, frames, dim)`` inputs with
    ``lengths (N,)``, in batches of ``batch_size`` similar lengths (:func:`length_batches`), eval mode, on ``device``
    as :func:`batch_logits`."""
    return batch_logits(model, length_batches(features, lengths, batch_size), device)


def predict(
    model: nn.Module,
    features: np.ndarray,
    lengths: np.ndarray | None = None,
    batch_size: int = SCORING_BATCH,
    device: torch.device | str | None = None,
) -> np.ndarray:
    """Class indices ``(N,)`` for inputs ``(N, dim)`` or ``(N, frames, dim)`` with ``lengths (N,)``, in eval mode,
    on ``device`` as :func:`logits`."""
    return logits(model, features, lengths, batch_size, device).argmax(dim=1).numpy()


def weights_key(model: nn.Module) -> str:
    """SHA-256 of every tensor of ``model``'s state (parameters and buffers), in order: equal keys, equal models."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def frame_mask(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """``(batch, frames)`` bool, True on each utterance's first ``lengths`` frames.

    >>> frame_mask(torch.tensor([1, 3]), 3).int().tolist()
    [[1, 0, 0], [1, 1, 1]]
    """
    return torch.arange(frames, device=lengths.device)[None, :] < lengths[:, None]
