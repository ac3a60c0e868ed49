"""1-D convolutional network over frame-level features, masked mean pooling over time."""

from __future__ import annotations

import torch
from torch import nn

from serbench.settings.base import INPUT_LEVELS
from serbench.studies.quantization.models.base import Classifier, frame_mask


class CNN1D(Classifier):
    """Two 1-D convolutions (ReLU), mean over valid frames, dropout, linear.

    Args:
        input_dim: features per frame (180), the convolution's input channels.
        n_classes: emotions.
        channels: output channels of both convolutions.
        kernel_size: frames per kernel (odd, padded to keep the length).
        dropout: dropout before the output layer.
    """

    input_level = INPUT_LEVELS["cnn1d"]
    piecewise_linear_blocks = True
    hawq_estimator = "gauss_newton"

    def __init__(self, input_dim: int, n_classes: int, channels: int, kernel_size: int, dropout: float):
        super().__init__(input_dim)
        self.conv1 = nn.Conv1d(input_dim, channels, kernel_size, padding=kernel_size // 2)
        self.conv2 = nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(channels, n_classes)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, n_classes)`` from ``(batch, frames, input_dim)`` and ``lengths (batch,)``."""
        mask = frame_mask(lengths, features.shape[1]).unsqueeze(1)  # (batch, 1, frames)
        x = self.standardize(features).transpose(1, 2) * mask  # (batch, input_dim, frames), padding zeroed
        x = torch.relu(self.conv1(x)) * mask
        x = torch.relu(self.conv2(x)) * mask  # (batch, channels, frames)
        pooled = x.sum(dim=2) / lengths[:, None].to(x.dtype)  # (batch, channels)
        return self.out(self.dropout(pooled))
