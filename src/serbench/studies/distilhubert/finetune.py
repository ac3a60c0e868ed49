"""Fine-tuning the encoder together with its head on waveforms (``distilhubert.finetune: true``, the default).

The paper (Ismail, Sec. III-D): "the feature encoder remains frozen ... while
the downstream classification head is fine-tuned", with AdamW 5e-5, warm-up,
a cosine schedule and the transformer's own dropout: the recipe of a full
fine-tune with the CNN frozen, which is how this module reads it. The
transformer layers and the projection train with the head; the convolutional
waveform feature encoder stays frozen. ``finetune: false`` trains a head on
frozen encoder states instead, the fast option for CPUs. Objective, optimiser, schedule and early stopping are the
frozen study's (Ismail Sec. III-D, :class:`~serbench.settings.ssl.HeadTrainSettings`);
augmentation runs on the fly, one fresh copy per utterance and epoch.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch import nn

from serbench.metrics import unweighted_average_recall
from serbench.progress import progress
from serbench.settings.ssl import AugmentSettings, HeadTrainSettings
from serbench.ssl.encoders import SAMPLE_RATE, Upstream, masked_mean
from serbench.ssl.waveforms import pad_batch
from serbench.studies.distilhubert.augment import augment
from serbench.studies.distilhubert.head import PooledHead, balanced_class_weights, focal_loss, optimizer_and_schedule
from serbench.training import fit


class FineTuneModel(nn.Module):
    """Upstream and :class:`PooledHead` trained end to end (LayerDrop off, convolutional front-end frozen).

    ``forward(waveforms (batch, samples), sample_lengths (batch,)) -> logits (batch, classes)``:
    every hidden state is mean-pooled over its valid frames, giving the head
    the ``(batch, layers + 1, hidden)`` input it takes from the frozen cache. A clip's logits do not depend on
    its batch (the upstream's contract).

    Args:
        upstream: from :func:`~serbench.ssl.upstream.load_upstream`.
        head: the downstream head.
    """

    def __init__(self, upstream: Upstream, head: PooledHead):
        super().__init__()
        self.upstream, self.head = upstream, head
        upstream.layerdrop = 0.0  # the head reads every layer: LayerDrop's random skips would drop some
        for parameter in upstream.front_end().parameters():
            parameter.requires_grad = False

    def forward(self, waveforms: torch.Tensor, sample_lengths: torch.Tensor) -> torch.Tensor:
        hidden, lengths = self.upstream(waveforms, sample_lengths)  # layers+1 × (batch, frames, hidden)
        pooled = torch.stack([masked_mean(h, lengths) for h in hidden], dim=1)  # (batch, layers + 1, hidden)
        return self.head(pooled)


def _device_batch(waveforms: list[np.ndarray], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    padded, lengths = pad_batch(waveforms)
    return torch.from_numpy(padded).to(device), torch.as_tensor(lengths, device=device)


@torch.no_grad()
def finetuned_probabilities(model: FineTuneModel, waveforms: list[np.ndarray], batch_size: int = 16) -> np.ndarray:
    """Class probabilities ``(N, C)`` of waveforms at 16 kHz, eval mode, on the model's device."""
    model.eval()
    device = next(model.parameters()).device
    parts = [
        torch.softmax(model(*_device_batch(waveforms[i : i + batch_size], device)), dim=1).cpu()
        for i in range(0, len(waveforms), batch_size)
    ]
    return torch.cat(parts).numpy()


def train_finetune(
    model: FineTuneModel,
    train: tuple[list[np.ndarray], np.ndarray],
    validation: tuple[list[np.ndarray], np.ndarray],
    n_classes: int,
    cfg: HeadTrainSettings,
    augment_cfg: AugmentSettings | None,
    seed: int,
    device: torch.device | str = "cpu",
) -> dict:
    """Train encoder and head in place on ``device``; keep the epoch with the best validation UA.

    Args:
        model: encoder + head.
        train, validation: ``(waveforms, labels)``, waveforms ``(samples_i,)`` at 16 kHz.
        n_classes: classes (α_t covers all of them).
        cfg: optimisation settings (the frozen study's).
        augment_cfg: on-the-fly augmentation of training waveforms; ``None`` for none.
        seed: seeds shuffling, augmentation and dropout.
        device: where the model trains (it ends on the CPU).

    Returns:
        History (:func:`serbench.training.fit`), the class weights and the device.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model.to(device)
    waveforms, labels = train
    alpha = torch.as_tensor(balanced_class_weights(labels, n_classes), dtype=torch.float32, device=device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer, schedule = optimizer_and_schedule(trainable, cfg, -(-len(labels) // cfg.batch_size))

    def epoch() -> float:
        total = 0.0
        batches = torch.as_tensor(rng.permutation(len(labels))).split(cfg.batch_size)
        for batch in progress(batches, "fine-tune epoch", "batch"):
            chosen = [
                waveforms[i] if augment_cfg is None else augment(waveforms[i], SAMPLE_RATE, augment_cfg, rng)
                for i in batch.tolist()
            ]
            optimizer.zero_grad()
            target = torch.as_tensor(labels[batch.numpy()], device=device)
            loss = focal_loss(model(*_device_batch(chosen, device)), target, alpha, cfg.gamma, cfg.label_smoothing)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(batch)
        return total / len(labels)

    def validate() -> float:
        return unweighted_average_recall(
            validation[1], finetuned_probabilities(model, validation[0], cfg.batch_size).argmax(1)
        )

    history = fit(model, epoch, validate, cfg.epochs, cfg.patience, metric="uar", epoch_log_level=logging.INFO)
    model.cpu()
    return {**history, "class_weights": alpha.tolist(), "device": str(device)}
