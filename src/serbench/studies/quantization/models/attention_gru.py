"""GRU with additive attention pooling over time (Bahdanau et al. 2015 scoring)."""

from __future__ import annotations

import torch
from torch import nn

from serbench.settings.base import INPUT_LEVELS
from serbench.studies.quantization.models.base import Classifier, frame_mask


class AttentionGRU(Classifier):
    """GRU outputs pooled by additive attention, then dropout and a linear layer.

    Attention score of frame t: ``e_t = v·tanh(W h_t + b)``; weights are the
    softmax of ``e`` over the valid frames; the pooled vector is ``Σ_t a_t h_t``.

    Args:
        input_dim: features per frame (180).
        n_classes: emotions.
        hidden: GRU state size.
        attention_dim: size of ``W h_t``.
        dropout: dropout before the output layer.
    """

    input_level = INPUT_LEVELS["attention_gru"]

    def __init__(self, input_dim: int, n_classes: int, hidden: int, attention_dim: int, dropout: float):
        super().__init__(input_dim)
        self.gru = nn.GRU(input_dim, hidden, batch_first=True)
        self.attention = nn.Linear(hidden, attention_dim)
        self.score = nn.Linear(attention_dim, 1, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, n_classes)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, n_classes)`` from ``(batch, frames, input_dim)`` and ``lengths (batch,)``."""
        states, _ = self.gru(self.standardize(features))  # (batch, frames, hidden)
        scores = self.score(torch.tanh(self.attention(states))).squeeze(-1)  # (batch, frames)
        scores = scores.masked_fill(~frame_mask(lengths, states.shape[1]), float("-inf"))
        weights = torch.softmax(scores, dim=1)  # (batch, frames)
        pooled = torch.einsum("bt,bth->bh", weights, states)  # (batch, hidden)
        return self.out(self.dropout(pooled))
