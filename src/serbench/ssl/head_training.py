"""Training a classification head on cached encoder states (Ismail, Sec. III-D).

AdamW (weight decay 0.01), cosine schedule with linear warm-up (peak lr 5e-5,
warm-up ratio 0.1), batch 16, 25 epochs, focal loss (γ = 2, balanced α_t,
label smoothing 0.1), early stopping with patience 6 on validation UA, best
epoch restored. Each epoch every training utterance contributes one of its
cached views (clean or augmented), drawn from a seeded generator.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from transformers import get_cosine_schedule_with_warmup

from serbench.dataset import Subset
from serbench.early_stopping import BestEpoch
from serbench.metrics import unweighted_average_recall
from serbench.ssl.losses import balanced_class_weights, focal_loss

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeadTrainConfig:
    """Settings (config key ``ssl.train``); defaults are the paper's."""

    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    batch_size: int = 16
    epochs: int = 25
    patience: int = 6
    gamma: float = 2.0
    label_smoothing: float = 0.1


@torch.no_grad()
def head_probabilities(head: torch.nn.Module, pooled: np.ndarray) -> np.ndarray:
    """Class probabilities ``(N, C)`` from pooled states ``(N, layers + 1, hidden)``, eval mode."""
    head.eval()
    return torch.softmax(head(torch.as_tensor(pooled, dtype=torch.float32)), dim=1).numpy()


def clean_view(subset: Subset) -> np.ndarray:
    """The un-augmented view ``(N, layers + 1, hidden)`` of a ``(N, views, layers + 1, hidden)`` cache."""
    return subset.features[:, 0]


def train_head(head: torch.nn.Module, train: Subset, validation: Subset, n_classes: int,
               cfg: HeadTrainConfig, seed: int) -> dict:
    """Train ``head`` in place; keep the epoch with the best validation UA.

    Args:
        head: a downstream head.
        train: features ``(N, views, layers + 1, hidden)``; view 0 is clean.
        validation: the same shape; only its clean view is scored.
        n_classes: classes (α_t covers all of them).
        cfg: optimisation settings.
        seed: seeds shuffling, view choice and dropout.

    Returns:
        History: ``best_epoch``, ``best_validation_uar``, ``epochs_run``, per-epoch
        ``train_loss`` and ``validation_uar``, and the class weights used.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    alpha = torch.as_tensor(balanced_class_weights(train.labels, n_classes), dtype=torch.float32)
    n, views = train.features.shape[:2]
    steps_per_epoch = -(-n // cfg.batch_size)
    optimizer = torch.optim.AdamW(head.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    total = steps_per_epoch * cfg.epochs
    schedule = get_cosine_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * total), total)
    labels = torch.as_tensor(train.labels, dtype=torch.long)
    history: dict = {"train_loss": [], "validation_uar": [], "class_weights": alpha.tolist()}
    best = BestEpoch(cfg.patience)
    for epoch in range(1, cfg.epochs + 1):
        head.train()
        chosen = torch.as_tensor(train.features[np.arange(n), rng.integers(0, views, size=n)], dtype=torch.float32)
        order = torch.as_tensor(rng.permutation(n))
        total_loss = 0.0
        for batch in order.split(cfg.batch_size):
            optimizer.zero_grad()
            loss = focal_loss(head(chosen[batch]), labels[batch], alpha, cfg.gamma, cfg.label_smoothing)
            loss.backward()
            optimizer.step()
            schedule.step()
            total_loss += loss.item() * len(batch)
        uar = unweighted_average_recall(validation.labels, head_probabilities(head, clean_view(validation)).argmax(1))
        history["train_loss"].append(total_loss / n)
        history["validation_uar"].append(uar)
        if best.update(epoch, uar, head):
            break
    best.restore(head)
    log.info("best validation UA %.4f at epoch %d of %d", best.best_score, best.best_epoch, epoch)
    return {**history, "best_epoch": best.best_epoch, "best_validation_uar": best.best_score, "epochs_run": epoch}
