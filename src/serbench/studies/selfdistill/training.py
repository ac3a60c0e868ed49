"""Training an encoder with student exits, and scoring every exit (Ren et al. 2023, Sec. 3.2).

Adam, lr 3e-5, batch 16, 20 epochs (the paper's settings). How utterances reach the model is a :class:`Feed`:
waveforms tiled (or cut) to one length as the authors' code does (``batching: tile``, the default: no padding
at all), or zero-padded to the longest and at least ``min_seconds`` with pooling over the valid frames
(``pad``); or, with a frozen encoder (``finetune: false``), the encoder's cached hidden states. With
``selection: best_epoch`` the epoch kept is the one with the best validation UAR of the teacher; with
``retrain`` (the paper) the last epoch is kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from scipy.special import softmax

from serbench.dataset import pad_frames
from serbench.device import model_device
from serbench.metrics import classification_scores, unweighted_average_recall
from serbench.progress import progress
from serbench.settings.selfdistill import DistillLossSettings, DistillTrainSettings
from serbench.ssl.waveforms import pad_batch
from serbench.studies.selfdistill.loss import self_distillation_loss
from serbench.studies.selfdistill.model import SelfDistillModel
from serbench.training import fit


def tile(waveform: np.ndarray, samples: int) -> np.ndarray:
    """The authors' ``audio_unify``: a shorter clip repeated until it fills ``samples``, a longer one cut.

    >>> tile(np.array([1.0, 2.0]), 5).tolist(), tile(np.arange(6.0), 4).tolist()
    ([1.0, 2.0, 1.0, 2.0, 1.0], [0.0, 1.0, 2.0, 3.0])
    """
    return np.tile(waveform, -(-samples // len(waveform)))[:samples]


class Utterances(NamedTuple):
    """A subset as the trainer takes it: ``items`` as the :class:`Feed` reads them (waveforms at 16 kHz of any
    length, or cached states) and their ``labels`` ``(N,)``."""

    items: list
    labels: np.ndarray


@dataclass(frozen=True)
class Feed:
    """How a batch of utterances reaches a :class:`SelfDistillModel`.

    Attributes:
        tile_samples: waveforms tiled or cut to this many samples; ``None``: zero-padded.
        min_samples: with padding, the batch is at least this long (time masking needs room).
        cached_layers: items are cached hidden states ``(frames, len(cached_layers) * hidden)`` of these
            layers (a frozen encoder) instead of waveforms.
    """

    tile_samples: int | None = None
    min_samples: int = 0
    cached_layers: tuple[int, ...] | None = None

    def __call__(self, model: SelfDistillModel, items: list[np.ndarray]) -> dict:
        device = model_device(model)
        if self.cached_layers is None:
            clips = [tile(w, self.tile_samples) for w in items] if self.tile_samples else items
            padded, lengths = pad_batch(clips, self.min_samples)
            return model(torch.from_numpy(padded).to(device), torch.as_tensor(lengths, device=device))
        if len({len(s) for s in items}) == 1:  # tiled: one length, nothing to pad
            padded, lengths = np.stack(items), np.full(len(items), len(items[0]))
        else:
            padded, lengths = pad_frames(items, max(len(s) for s in items))
        states = torch.from_numpy(padded).to(device).float().unflatten(2, (len(self.cached_layers), -1))  # (B, T, L, R)
        return model.heads(
            {layer: states[:, :, i] for i, layer in enumerate(self.cached_layers)},
            torch.as_tensor(lengths, device=device),
        )


@torch.no_grad()
def exit_logits(model: SelfDistillModel, items: list[np.ndarray], batch_size: int, feed: Feed) -> dict:
    """Logits ``(N, C)`` of the teacher and every student (keys ``"teacher"`` and the exit layers), eval mode."""
    model.eval()
    chunks: dict = {}
    for start in range(0, len(items), batch_size):
        outputs = feed(model, items[start : start + batch_size])
        for exit_name, (_, _, logits) in outputs.items():
            chunks.setdefault(exit_name, []).append(logits)
    return {name: torch.cat(parts).cpu().numpy() for name, parts in chunks.items()}


def margin_fusion(logits: list[np.ndarray]) -> np.ndarray:
    """The authors' fusion of exits (``fusion_pred``): per utterance, the exit whose top-1 minus top-2 logit
    margin is largest, folded pairwise in exit order (ties keep the shallower exit).

    Args:
        logits: per exit, shallowest first, ``(N, C)``.

    Returns:
        The chosen exit's logits per utterance, ``(N, C)``.

    >>> shallow = np.array([[2.0, 1.0, 0.0], [1.0, 0.9, 0.0]])
    >>> deep = np.array([[0.0, 1.5, 0.0], [0.0, 3.0, 1.0]])
    >>> margin_fusion([shallow, deep]).argmax(1).tolist()
    [1, 1]
    """
    fused = logits[0]
    for other in logits[1:]:
        top = np.sort(fused, axis=1)
        other_top = np.sort(other, axis=1)
        keep = (top[:, -1] - top[:, -2]) >= (other_top[:, -1] - other_top[:, -2])
        fused = np.where(keep[:, None], fused, other)
    return fused


def score_exits(logits: dict, labels: np.ndarray) -> dict[str, dict]:
    """WA, UA and macro-F1 of every exit, the teacher and three fusions of the student exits.

    ``fusion_margin`` is the authors' (:func:`margin_fusion`); ``fusion_mean``
    averages the students' probabilities; ``fusion_confident`` takes, per
    utterance, the prediction of the student with the highest probability.
    """
    students = sorted((name for name in logits if name != "teacher"), key=int)
    scores = {str(name): classification_scores(labels, p.argmax(1)) for name, p in logits.items()}
    if students:
        scores["fusion_margin"] = classification_scores(labels, margin_fusion([logits[s] for s in students]).argmax(1))
        stacked = softmax(np.stack([logits[s] for s in students]), axis=2)  # (students, N, C)
        scores["fusion_mean"] = classification_scores(labels, stacked.mean(axis=0).argmax(1))
        confident = stacked.max(axis=2).argmax(axis=0)  # (N,) index of the most confident student
        scores["fusion_confident"] = classification_scores(labels, stacked[confident, np.arange(len(labels))].argmax(1))
    return scores


def train_self_distillation(
    model: SelfDistillModel,
    train: Utterances,
    validation: Utterances | None,
    loss_cfg: DistillLossSettings,
    similarity: tuple[str, ...],
    cfg: DistillTrainSettings,
    seed: int,
    feed: Feed,
) -> dict:
    """Train ``model`` in place for ``cfg.epochs`` epochs (its encoder too, unless it is frozen).

    With ``cfg.selection == "best_epoch"`` the weights of the epoch with the
    best teacher validation UAR are kept; with ``retrain``, the last epoch's.

    Args:
        train, validation: :class:`Utterances`. ``validation`` is ``None`` when retraining on train + validation (its
            history then reads NaN).
        loss_cfg, similarity: eq. 1's weights and L_sim's terms.
        feed: how a batch reaches the model.

    Returns:
        History (:func:`serbench.training.fit`, metric ``uar`` of the teacher) and per-epoch ``loss`` parts.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=cfg.learning_rate)
    items, labels = train
    loss_parts: list[dict] = []

    def epoch() -> float:
        parts = []
        batches = np.array_split(rng.permutation(len(labels)), max(1, -(-len(labels) // cfg.batch_size)))
        for batch in progress(batches, "self-distillation epoch", "batch"):
            optimizer.zero_grad()
            outputs = feed(model, [items[i] for i in batch])
            target = torch.as_tensor(labels[batch], device=model_device(model))
            loss, part = self_distillation_loss(outputs, target, loss_cfg, similarity)
            loss.backward()
            optimizer.step()
            parts.append({**part, "total": loss.item()})
        loss_parts.append({k: float(np.mean([p[k] for p in parts])) for k in parts[0]})
        return loss_parts[-1]["total"]

    def validate() -> float:
        if validation is None:
            return float("nan")
        teacher = exit_logits(model, validation.items, cfg.batch_size, feed)["teacher"]
        return unweighted_average_recall(validation.labels, teacher.argmax(1))

    best = cfg.selection == "best_epoch" and validation is not None
    history = fit(model, epoch, validate, cfg.epochs, None, "uar", restore_best=best, epoch_log_level=logging.INFO)
    return {**history, "loss": loss_parts}
