"""LSTM over frame-level features; the last valid hidden state classifies."""

from __future__ import annotations

import torch
from torch import nn

from serbench.settings.base import INPUT_LEVELS
from serbench.studies.quantization.models.base import Classifier


class LSTMClassifier(Classifier):
    """One-layer LSTM, last valid hidden state -> dropout -> linear.

    The padded batch runs unpacked (oneDNN's fused kernel, about 3x faster to
    train on a CPU than a packed sequence); a unidirectional LSTM's state at an
    utterance's last valid frame does not depend on the padding after it.

    With 180 inputs and ``hidden = 128``: 4·(180·128 + 128·128 + 2·128) =
    158,720 recurrent parameters, plus the output layer.

    Args:
        input_dim: features per frame (180).
        n_classes: emotions.
        hidden: LSTM state size.
        dropout: dropout before the output layer.
    """

    input_level = INPUT_LEVELS["lstm"]
    hawq_estimator = "gauss_newton"  # measured, not exact: see Classifier

    def __init__(self, input_dim: int, n_classes: int, hidden: int, dropout: float):
        super().__init__(input_dim)
        self.lstm = nn.LSTM(input_dim, hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, n_classes)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, n_classes)`` from ``(batch, frames, input_dim)`` and ``lengths (batch,)``."""
        states, _ = self.lstm(self.standardize(features))  # (batch, frames, hidden)
        last = states[torch.arange(len(lengths)), lengths - 1]  # (batch, hidden): padding comes after it
        return self.out(self.dropout(last))
