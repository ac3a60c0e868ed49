"""Classification heads on pooled encoder states (the "downstream" of s3prl)."""

from __future__ import annotations

import torch
from torch import nn


class PooledHead(nn.Module):
    """Layer choice or learned layer weighting, dropout, two linear layers.

    Input is the time-mean of every hidden state, ``(batch, layers + 1, hidden)``.
    With ``layer_weights`` a softmax-weighted sum over layers is learned
    (SUPERB's weighted sum; the mean over time commutes with it); otherwise the
    last layer is used.

    Args:
        n_layers: hidden states per utterance (transformer layers + 1).
        hidden_size: encoder width (768 for base models).
        n_classes: emotions.
        layer_weights: learn a weighted sum of layers.
        head_hidden: width of the first linear layer.
        dropout: dropout before each linear layer.
    """

    def __init__(self, n_layers: int, hidden_size: int, n_classes: int, layer_weights: bool = False,
                 head_hidden: int = 256, dropout: float = 0.1):
        super().__init__()
        self.init_kwargs = dict(n_layers=n_layers, hidden_size=hidden_size, n_classes=n_classes,
                                layer_weights=layer_weights, head_hidden=head_hidden, dropout=dropout)
        self.layer_logits = nn.Parameter(torch.zeros(n_layers)) if layer_weights else None
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(hidden_size, head_hidden), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(head_hidden, n_classes),
        )

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, n_classes)`` from ``(batch, layers + 1, hidden)``."""
        if self.layer_logits is None:
            summary = pooled[:, -1]  # (batch, hidden)
        else:
            summary = torch.einsum("l,blh->bh", torch.softmax(self.layer_logits, dim=0), pooled)
        return self.classifier(summary)
