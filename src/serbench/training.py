"""Supervised training of a downstream classifier with early stopping.

Shinde et al. 2024, Sec. 3: Adam (lr 1e-3), cross-entropy, batch 32, early
stopping with patience 5, dropout 0.1. Early stopping watches validation
accuracy and restores the best epoch's weights.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from serbench.dataset import Subset
from serbench.early_stopping import BestEpoch

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


def _lengths(features: np.ndarray, lengths: np.ndarray | None) -> torch.Tensor:
    if lengths is None:
        lengths = np.full(len(features), features.shape[1] if features.ndim == 3 else 1)
    return torch.as_tensor(lengths, dtype=torch.long)


@torch.no_grad()
def predict(model: nn.Module, features: np.ndarray, lengths: np.ndarray | None = None, batch_size: int = 256) -> np.ndarray:
    """Class indices ``(N,)`` for inputs ``(N, dim)`` or ``(N, frames, dim)`` with ``lengths (N,)``, in eval mode."""
    model.eval()
    inputs, valid = torch.as_tensor(features, dtype=torch.float32), _lengths(features, lengths)
    chunks = zip(inputs.split(batch_size), valid.split(batch_size))
    return torch.cat([model(x, n).argmax(dim=1) for x, n in chunks]).numpy()


def fit_standardization(model: nn.Module, train_features: np.ndarray, lengths: np.ndarray | None = None) -> None:
    """Set the model's ``feature_mean``/``feature_std`` buffers from the training split only.

    For frame-level inputs ``(N, frames, dim)`` only each utterance's first
    ``lengths`` frames count (padding is left out); a zero std becomes 1.
    """
    if train_features.ndim == 3:
        valid = np.arange(train_features.shape[1])[None, :] < _lengths(train_features, lengths).numpy()[:, None]
        flat = train_features[valid]  # (valid frames, dim)
    else:
        flat = train_features
    std = flat.std(axis=0)
    model.feature_mean.copy_(torch.as_tensor(flat.mean(axis=0)))
    model.feature_std.copy_(torch.as_tensor(np.where(std > 0, std, 1.0)))


def train_classifier(
    model: nn.Module,
    train: Subset,
    validation: Subset,
    cfg: TrainConfig,
    seed: int,
) -> dict:
    """Train ``model`` in place and keep the epoch with the best validation accuracy.

    Args:
        model: a registered classifier with standardization buffers.
        train: the training subset.
        validation: the validation subset (never the test subset).
        cfg: training settings.
        seed: seeds weight init order, shuffling and dropout.

    Returns:
        History: ``best_epoch``, ``best_validation_accuracy``, ``epochs_run``
        and per-epoch ``train_loss`` and ``validation_accuracy`` lists.
    """
    torch.manual_seed(seed)
    fit_standardization(model, train.features, train.lengths)
    dataset = TensorDataset(
        torch.as_tensor(train.features, dtype=torch.float32),
        _lengths(train.features, train.lengths),
        torch.as_tensor(train.labels, dtype=torch.long),
    )
    loader = DataLoader(
        dataset,
        batch_size=cfg.batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    loss_fn = nn.CrossEntropyLoss()
    history: dict = {"train_loss": [], "validation_accuracy": []}
    best = BestEpoch(cfg.patience)
    for epoch in range(1, cfg.max_epochs + 1):
        model.train()
        total = 0.0
        for inputs, lengths, labels in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(inputs, lengths), labels)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(labels)
        accuracy = float((predict(model, validation.features, validation.lengths) == validation.labels).mean())
        history["train_loss"].append(total / len(loader.dataset))
        history["validation_accuracy"].append(accuracy)
        if best.update(epoch, accuracy, model):
            break
    best.restore(model)
    log.info("best validation accuracy %.4f at epoch %d of %d", best.best_score, best.best_epoch, epoch)
    return {**history, "best_epoch": best.best_epoch, "best_validation_accuracy": best.best_score, "epochs_run": epoch}
