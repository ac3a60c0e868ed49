"""Fine-tuning an encoder with student exits, and scoring every exit (Ren et al. 2023, Sec. 3.2).

Adam, lr 3e-5, batch 16, 20 epochs (the paper's settings). Waveforms of a batch
are zero-padded to the longest, and to at least ``min_seconds`` so that the
encoder's time masking always has room; pooling ignores the padding. The epoch
kept is the one with the best validation UAR of the teacher.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from serbench.metrics import classification_scores, unweighted_average_recall
from serbench.settings.ssl import DistillLossSettings, DistillTrainSettings
from serbench.ssl.waveforms import pad_batch
from serbench.studies.selfdistill.loss import self_distillation_loss
from serbench.studies.selfdistill.model import SelfDistillModel
from serbench.training import fit


def _batch(waveforms: list[np.ndarray], min_samples: int) -> tuple[torch.Tensor, torch.Tensor]:
    padded, lengths = pad_batch(waveforms, min_samples)
    return torch.from_numpy(padded), torch.as_tensor(lengths)


@torch.no_grad()
def exit_probabilities(model: SelfDistillModel, waveforms: list[np.ndarray], batch_size: int, min_samples: int) -> dict:
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
    model: SelfDistillModel,
    train: tuple[list[np.ndarray], np.ndarray],
    validation: tuple[list[np.ndarray], np.ndarray],
    loss_cfg: DistillLossSettings,
    similarity: tuple[str, ...],
    cfg: DistillTrainSettings,
    seed: int,
) -> dict:
    """Fine-tune ``model`` in place for ``cfg.epochs`` epochs; keep the epoch with the best teacher validation UAR.

    Args:
        train, validation: ``(waveforms, labels)``; waveforms at 16 kHz, any lengths.
        loss_cfg, similarity: eq. 1's weights and L_sim's terms.

    Returns:
        History (:func:`serbench.training.fit`, metric ``uar`` of the teacher) and per-epoch ``loss`` parts.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    min_samples = int(cfg.min_seconds * 16000)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    waveforms, labels = train
    loss_parts: list[dict] = []

    def epoch() -> float:
        parts = []
        for batch in np.array_split(rng.permutation(len(labels)), max(1, -(-len(labels) // cfg.batch_size))):
            optimizer.zero_grad()
            outputs = model(*_batch([waveforms[i] for i in batch], min_samples))
            loss, part = self_distillation_loss(outputs, torch.as_tensor(labels[batch]), loss_cfg, similarity)
            loss.backward()
            optimizer.step()
            parts.append({**part, "total": loss.item()})
        loss_parts.append({k: float(np.mean([p[k] for p in parts])) for k in parts[0]})
        return loss_parts[-1]["total"]

    def validate() -> float:
        teacher = exit_probabilities(model, validation[0], cfg.batch_size, min_samples)["teacher"]
        return unweighted_average_recall(validation[1], teacher.argmax(1))

    history = fit(model, epoch, validate, cfg.epochs, patience=None, metric="uar", epoch_log_level=logging.INFO)
    return {**history, "loss": loss_parts}
