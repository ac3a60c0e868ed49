"""What every downstream classifier shares: input standardization and the input level it reads."""

from __future__ import annotations

import torch
from torch import nn


class Classifier(nn.Module):
    """Base of the registered classifiers.

    Subclasses set :attr:`input_level` to ``"utterance"`` (inputs ``(batch, dim)``)
    or ``"frames"`` (inputs ``(batch, frames, dim)`` with ``lengths``), and call
    :meth:`standardize` first in ``forward``. The training split's feature mean
    and std live in buffers, so a saved model takes raw features.
    """

    input_level = "utterance"

    def __init__(self, input_dim: int):
        super().__init__()
        self.register_buffer("feature_mean", torch.zeros(input_dim))
        self.register_buffer("feature_std", torch.ones(input_dim))

    def standardize(self, features: torch.Tensor) -> torch.Tensor:
        """``(features - mean) / std`` over the last axis; shape unchanged."""
        return (features - self.feature_mean) / self.feature_std


def frame_mask(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """``(batch, frames)`` bool, True on each utterance's first ``lengths`` frames.

    >>> frame_mask(torch.tensor([1, 3]), 3).int().tolist()
    [[1, 0, 0], [1, 1, 1]]
    """
    return torch.arange(frames, device=lengths.device)[None, :] < lengths[:, None]
