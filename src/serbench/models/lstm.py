"""LSTM over frame-level features; the last valid hidden state classifies."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from serbench.models.base import Classifier


class LSTMClassifier(Classifier):
    """One-layer LSTM, final hidden state -> dropout -> linear.

    With 180 inputs and ``hidden = 128``: 4·(180·128 + 128·128 + 2·128) =
    158,720 recurrent parameters, plus the output layer.

    Args:
        input_dim: features per frame (180).
        n_classes: emotions.
        hidden: LSTM state size.
        dropout: dropout before the output layer.
    """

    input_level = "frames"

    def __init__(self, input_dim: int, n_classes: int, hidden: int = 128, dropout: float = 0.1):
        super().__init__(input_dim)
        self.lstm = nn.LSTM(input_dim, hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, n_classes)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, n_classes)`` from ``(batch, frames, input_dim)`` and ``lengths (batch,)``."""
        packed = pack_padded_sequence(self.standardize(features), lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (state, _) = self.lstm(packed)  # state: (1, batch, hidden)
        return self.out(self.dropout(state[-1]))
