"""The MLP of Shinde et al. 2024 (Sec. 2.1): 180 -> 256 -> 512 -> 64 -> classes."""

from __future__ import annotations

import torch
from torch import nn

from serbench.settings.base import INPUT_LEVELS
from serbench.studies.quantization.models.base import Classifier


class MLP(Classifier):
    """Feed-forward classifier on utterance-level features.

    Args:
        input_dim: features per utterance (180).
        n_classes: emotions (7 for EmoDB and TESS).
        hidden: hidden layer widths (paper: 256, 512, 64).
        dropout: dropout after each hidden ReLU (paper: 0.1).
    """

    input_level = INPUT_LEVELS["mlp"]

    piecewise_linear_blocks = True
    hawq_estimator = "gauss_newton"

    def __init__(self, input_dim: int, n_classes: int, hidden: tuple[int, ...], dropout: float):
        super().__init__(input_dim)
        layers: list[nn.Module] = []
        width = input_dim
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        layers.append(nn.Linear(width, n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(batch, n_classes)`` from features ``(batch, input_dim)``; ``lengths`` is ignored."""
        return self.net(self.standardize(features))
