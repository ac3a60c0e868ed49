"""Fine-tuning an encoder with student exits, and scoring every exit (Ren et al. 2023, Sec. 3.2).

Adam, lr 3e-5, batch 16, 20 epochs (the paper's settings). Waveforms of a batch
are zero-padded to the longest, and to at least ``min_seconds`` so that the
encoder's time masking always has room; pooling ignores the padding. The epoch
kept is the one with the best validation UAR of the teacher.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from serbench.early_stopping import BestEpoch
from serbench.metrics import classification_scores, unweighted_average_recall
from serbench.ssl.distill_loss import DistillLossConfig, self_distillation_loss
from serbench.ssl.selfdistill import SelfDistillModel
from serbench.waveforms import pad_batch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistillTrainConfig:
    """Settings (config key ``selfdistill.train``); defaults are the paper's."""

    learning_rate: float = 3e-5
    batch_size: int = 16
    epochs: int = 20
    min_seconds: float = 1.0


def _batch(waveforms: list[np.ndarray], min_samples: int) -> tuple[torch.Tensor, torch.Tensor]:
    padded, lengths = pad_batch(waveforms, min_samples)
    return torch.from_numpy(padded), torch.as_tensor(lengths)


@torch.no_grad()
def exit_probabilities(model: SelfDistillModel, waveforms: list[np.ndarray], batch_size: int,
                       min_samples: int) -> dict:
    """Class probabilities ``(N, C)`` of the teacher and every student, eval mode."""
    model.eval()
    chunks: dict = {}
    for start in range(0, len(waveforms), batch_size):
        outputs = model(*_batch(waveforms[start : start + batch_size], min_samples))
        for exit_name, (_, _, logits) in outputs.items():
            chunks.setdefault(exit_name, []).append(torch.softmax(logits, dim=1))
    return {name: torch.cat(parts).numpy() for name, parts in chunks.items()}


def score_exits(probabilities: dict, labels: np.ndarray) -> dict[str, dict]:
    """WA, UA and macro-F1 of every exit, the teacher and two fusions of the student exits.

    ``fusion_mean`` averages the students' probabilities; ``fusion_confident``
    takes, per utterance, the prediction of the most confident student.
    """
    students = [name for name in probabilities if name != "teacher"]
    scores = {str(name): classification_scores(labels, p.argmax(1)) for name, p in probabilities.items()}
    if students:
        stacked = np.stack([probabilities[s] for s in students])  # (students, N, C)
        scores["fusion_mean"] = classification_scores(labels, stacked.mean(axis=0).argmax(1))
        confident = stacked.max(axis=2).argmax(axis=0)  # (N,) index of the most confident student
        scores["fusion_confident"] = classification_scores(labels, stacked[confident, np.arange(len(labels))].argmax(1))
    return scores


def train_self_distillation(
    model: SelfDistillModel, train: tuple[list[np.ndarray], np.ndarray], validation: tuple[list[np.ndarray], np.ndarray],
    loss_cfg: DistillLossConfig, cfg: DistillTrainConfig, seed: int,
) -> dict:
    """Fine-tune ``model`` in place; keep the epoch with the best validation UAR of the teacher.

    Args:
        train, validation: ``(waveforms, labels)``; waveforms at 16 kHz, any lengths.

    Returns:
        History: per-epoch ``loss`` parts and ``validation_uar`` (teacher), ``best_epoch``.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    min_samples = int(cfg.min_seconds * 16000)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    history: dict = {"loss": [], "validation_uar": []}
    best = BestEpoch(patience=None)
    waveforms, labels = train
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        parts = []
        for batch in np.array_split(rng.permutation(len(labels)), max(1, -(-len(labels) // cfg.batch_size))):
            optimizer.zero_grad()
            outputs = model(*_batch([waveforms[i] for i in batch], min_samples))
            loss, part = self_distillation_loss(outputs, torch.as_tensor(labels[batch]), loss_cfg)
            loss.backward()
            optimizer.step()
            parts.append(part)
        teacher = exit_probabilities(model, validation[0], cfg.batch_size, min_samples)["teacher"]
        uar = unweighted_average_recall(validation[1], teacher.argmax(1))
        history["loss"].append({k: float(np.mean([p[k] for p in parts])) for k in parts[0]})
        history["validation_uar"].append(uar)
        best.update(epoch, uar, model)
    best.restore(model)
    log.info("best teacher validation UAR %.4f at epoch %d", best.best_score, best.best_epoch)
    return {**history, "best_epoch": best.best_epoch, "best_validation_uar": best.best_score}
