"""Supervised training of a downstream classifier with early stopping.

Shinde et al. 2024, Sec. 3: Adam (lr 1e-3), cross-entropy, batch 32, early
stopping with patience 5, dropout 0.1. Early stopping watches validation
accuracy and restores the best epoch's weights.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Training settings (config key ``train``).

    Attributes:
        learning_rate: Adam step size (paper: 1e-3).
        batch_size: utterances per step (paper: 32).
        max_epochs: upper bound on epochs; early stopping usually ends sooner.
        patience: epochs without a better validation accuracy before stopping (paper: 5).
    """

    learning_rate: float = 1e-3
    batch_size: int = 32
    max_epochs: int = 200
    patience: int = 5


@torch.no_grad()
def predict(model: nn.Module, features: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Class indices of shape ``(N,)`` for inputs ``(N, ...)``, in eval mode."""
    model.eval()
    inputs = torch.as_tensor(features, dtype=torch.float32)
    return torch.cat([model(chunk).argmax(dim=1) for chunk in inputs.split(batch_size)]).numpy()


def fit_standardization(model: nn.Module, train_features: np.ndarray) -> None:
    """Set the model's ``feature_mean``/``feature_std`` buffers from the training split only.

    Statistics are taken over every axis but the last, so ``(N, 180)`` and
    ``(N, frames, 180)`` inputs both give 180 means; a zero std becomes 1.
    """
    flat = train_features.reshape(-1, train_features.shape[-1])
    std = flat.std(axis=0)
    model.feature_mean.copy_(torch.as_tensor(flat.mean(axis=0)))
    model.feature_std.copy_(torch.as_tensor(np.where(std > 0, std, 1.0)))


def train_classifier(
    model: nn.Module,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    cfg: TrainConfig,
    seed: int,
) -> dict:
    """Train ``model`` in place and keep the epoch with the best validation accuracy.

    Args:
        model: a registered classifier with standardization buffers.
        train: ``(features (N, ...), labels (N,))`` of the training split.
        validation: the same for the validation split (never the test split).
        cfg: training settings.
        seed: seeds weight init order, shuffling and dropout.

    Returns:
        History: ``best_epoch``, ``best_validation_accuracy``, ``epochs_run``
        and per-epoch ``train_loss`` and ``validation_accuracy`` lists.
    """
    torch.manual_seed(seed)
    fit_standardization(model, train[0])
    loader = DataLoader(
        TensorDataset(torch.as_tensor(train[0], dtype=torch.float32), torch.as_tensor(train[1], dtype=torch.long)),
        batch_size=cfg.batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    loss_fn = nn.CrossEntropyLoss()
    history: dict = {"train_loss": [], "validation_accuracy": []}
    best_accuracy, best_epoch, best_state = -1.0, 0, None
    for epoch in range(1, cfg.max_epochs + 1):
        model.train()
        total = 0.0
        for inputs, labels in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), labels)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(labels)
        accuracy = float((predict(model, validation[0]) == validation[1]).mean())
        history["train_loss"].append(total / len(loader.dataset))
        history["validation_accuracy"].append(accuracy)
        if accuracy > best_accuracy:
            best_accuracy, best_epoch, best_state = accuracy, epoch, copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= cfg.patience:
            break
    model.load_state_dict(best_state)
    log.info("best validation accuracy %.4f at epoch %d of %d", best_accuracy, best_epoch, epoch)
    return {**history, "best_epoch": best_epoch, "best_validation_accuracy": best_accuracy, "epochs_run": epoch}
