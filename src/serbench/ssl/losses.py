"""Focal loss with class weights and label smoothing (Ismail, eq. 1; Lin et al. 2017)."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils.class_weight import compute_class_weight


def balanced_class_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """α_c = N / (C · N_c) from the training labels (scikit-learn's "balanced"), shape ``(n_classes,)``.

    >>> balanced_class_weights(np.array([0, 0, 0, 1]), 2).tolist()
    [0.6666666666666666, 2.0]
    """
    return compute_class_weight("balanced", classes=np.arange(n_classes), y=labels)


def focal_loss(
    logits: torch.Tensor, targets: torch.Tensor, alpha: torch.Tensor | None = None, gamma: float = 2.0,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Mean over the batch of ``-Σ_c q_c α_c (1 - p_c)^γ log p_c``.

    ``q`` is the one-hot target smoothed to ``(1 - ε) onehot + ε / C``; with
    ``ε = 0`` this is eq. 1, ``FL(p_t) = -α_t (1 - p_t)^γ log p_t``.

    Args:
        logits: ``(batch, C)``.
        targets: ``(batch,)`` class indices.
        alpha: ``(C,)`` class weights, or ``None`` for 1.
        gamma: focusing parameter γ (2.0).
        label_smoothing: ε (0.1 in the paper).
    """
    log_p = torch.log_softmax(logits, dim=1)  # (batch, C)
    n_classes = logits.shape[1]
    q = torch.nn.functional.one_hot(targets, n_classes).to(log_p.dtype) * (1 - label_smoothing) + label_smoothing / n_classes
    weight = q * (1 - log_p.exp()) ** gamma
    if alpha is not None:
        weight = weight * alpha[None, :]
    return -(weight * log_p).sum(dim=1).mean()
