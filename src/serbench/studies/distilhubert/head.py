"""The downstream head of the DistilHuBERT study, its focal loss, and training it on cached encoder states.

Ismail, Sec. III-D: AdamW (weight decay 0.01), cosine schedule with linear
warm-up (peak lr 5e-5, warm-up ratio 0.1), batch 16, 25 epochs, focal loss
(γ = 2, balanced α_t, label smoothing 0.1; eq. 1), early stopping with
patience 6 on validation UA, best epoch restored. With a frozen encoder each
epoch every training utterance contributes one of its cached views (clean or
augmented), drawn from a seeded generator.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils.class_weight import compute_class_weight
from torch import nn

from serbench.dataset import Subset
from serbench.device import model_device
from serbench.metrics import unweighted_average_recall
from serbench.settings.ssl import HeadTrainSettings
from serbench.training import fit


class PooledHead(nn.Module):
    """Standardisation, layer choice or learned layer weighting, dropout, two linear layers (s3prl's "downstream").

    Input is the time-mean of every hidden state, ``(batch, layers + 1, hidden)``, first standardised per layer
    and dimension with the statistics :meth:`standardise_with` stores (identity until then: a fine-tuned encoder's
    states move, so only a frozen encoder's are standardised).
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

    def __init__(
        self, n_layers: int, hidden_size: int, n_classes: int, layer_weights: bool, head_hidden: int, dropout: float
    ):
        super().__init__()
        self.init_kwargs = dict(
            n_layers=n_layers,
            hidden_size=hidden_size,
            n_classes=n_classes,
            layer_weights=layer_weights,
            head_hidden=head_hidden,
            dropout=dropout,
        )
        self.register_buffer("mean", torch.zeros(n_layers, hidden_size))
        self.register_buffer("std", torch.ones(n_layers, hidden_size))
        self.layer_logits = nn.Parameter(torch.zeros(n_layers)) if layer_weights else None
        self.classifier = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(hidden_size, head_hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(head_hidden, n_classes),
        )

    def standardise_with(self, pooled: np.ndarray) -> None:
        """Store the mean and standard deviation (floor 1e-5) of training states ``(N, layers + 1, hidden)``."""
        self.mean.copy_(torch.as_tensor(pooled.mean(axis=0)))
        self.std.copy_(torch.as_tensor(pooled.std(axis=0) + 1e-5))

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, n_classes)`` from ``(batch, layers + 1, hidden)``."""
        pooled = (pooled - self.mean) / self.std
        if self.layer_logits is None:
            summary = pooled[:, -1]  # (batch, hidden)
        else:
            summary = torch.einsum("l,blh->bh", torch.softmax(self.layer_logits, dim=0), pooled)
        return self.classifier(summary)


def balanced_class_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """α_c = N / (C · N_c) from the training labels (scikit-learn's "balanced"), shape ``(n_classes,)``.

    >>> balanced_class_weights(np.array([0, 0, 0, 1]), 2).tolist()
    [0.6666666666666666, 2.0]
    """
    return compute_class_weight("balanced", classes=np.arange(n_classes), y=labels)


def focal_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    alpha: torch.Tensor | None = None,
    gamma: float = 2.0,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Mean over the batch of ``-Σ_c q_c α_c (1 - p_c)^γ log p_c`` (Ismail, eq. 1; Lin et al. 2017).

    ``q`` is the one-hot target smoothed to ``(1 - ε) onehot + ε / C``; with
    ``ε = 0`` this is eq. 1, ``FL(p_t) = -α_t (1 - p_t)^γ log p_t``.

    Args:
        logits: ``(batch, C)``.
        targets: ``(batch,)`` class indices.
        alpha: ``(C,)`` class weights, or ``None`` for 1.
        gamma: focusing parameter γ.
        label_smoothing: ε.
    """
    log_p = torch.log_softmax(logits, dim=1)  # (batch, C)
    n_classes = logits.shape[1]
    q = (
        torch.nn.functional.one_hot(targets, n_classes).to(log_p.dtype) * (1 - label_smoothing)
        + label_smoothing / n_classes
    )
    weight = q * (1 - log_p.exp()) ** gamma
    if alpha is not None:
        weight = weight * alpha[None, :]
    return -(weight * log_p).sum(dim=1).mean()


def optimizer_and_schedule(parameters, cfg: HeadTrainSettings, steps_per_epoch: int):
    """AdamW with the paper's weight decay and a cosine schedule with linear warm-up over every step."""
    from transformers import get_cosine_schedule_with_warmup

    optimizer = torch.optim.AdamW(parameters, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    total = steps_per_epoch * cfg.epochs
    return optimizer, get_cosine_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * total), total)


@torch.no_grad()
def head_probabilities(head: nn.Module, pooled: np.ndarray) -> np.ndarray:
    """Class probabilities ``(N, C)`` from pooled states ``(N, layers + 1, hidden)``, eval mode."""
    head.eval()
    inputs = torch.as_tensor(pooled, dtype=torch.float32, device=model_device(head))
    return torch.softmax(head(inputs), dim=1).cpu().numpy()


def clean_view(subset: Subset) -> np.ndarray:
    """The un-augmented view ``(N, layers + 1, hidden)`` of a ``(N, views, layers + 1, hidden)`` cache."""
    return subset.features[:, 0]


def train_head(
    head: PooledHead,
    train: Subset,
    validation: Subset,
    n_classes: int,
    cfg: HeadTrainSettings,
    seed: int,
    device: torch.device | str = "cpu",
) -> dict:
    """Standardise ``head``'s input with the training states (clean view), then train it in place on cached
    states on ``device`` (it ends on the CPU); keep the epoch with the best validation UA.

    Args:
        head: a downstream head.
        train: features ``(N, views, layers + 1, hidden)``; view 0 is clean.
        validation: the same shape; only its clean view is scored.
        n_classes: classes (α_t covers all of them).
        cfg: optimisation settings.
        seed: seeds shuffling, view choice and dropout.

    Returns:
        History (:func:`serbench.training.fit`) and the class weights used.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    head.standardise_with(clean_view(train))
    head.to(device)
    alpha = torch.as_tensor(balanced_class_weights(train.labels, n_classes), dtype=torch.float32, device=device)
    n, views = train.features.shape[:2]
    optimizer, schedule = optimizer_and_schedule(head.parameters(), cfg, -(-n // cfg.batch_size))
    labels = torch.as_tensor(train.labels, dtype=torch.long, device=device)

    def epoch() -> float:
        chosen = torch.as_tensor(
            train.features[np.arange(n), rng.integers(0, views, size=n)], dtype=torch.float32, device=device
        )
        total = 0.0
        for batch in torch.as_tensor(rng.permutation(n), device=device).split(cfg.batch_size):
            optimizer.zero_grad()
            loss = focal_loss(head(chosen[batch]), labels[batch], alpha, cfg.gamma, cfg.label_smoothing)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(batch)
        return total / n

    def validate() -> float:
        return unweighted_average_recall(validation.labels, head_probabilities(head, clean_view(validation)).argmax(1))

    history = fit(head, epoch, validate, cfg.epochs, cfg.patience, metric="uar")
    head.cpu()
    return {**history, "class_weights": alpha.tolist(), "device": str(device)}
