"""Training a feature-model classifier (Shinde et al. 2024, Sec. 3) with the suite's training loop.

Adam (lr 1e-3), cross-entropy, batch 32, early stopping with patience 5 on
validation accuracy, best epoch restored, dropout 0.1; standardization is
fitted on the training split only.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

from serbench.dataset import Subset
from serbench.device import model_device
from serbench.settings import TrainSettings
from serbench.studies.quantization.models import predict, trim, valid_lengths
from serbench.training import fit


class BatchGathered(TensorDataset):
    """A :class:`~torch.utils.data.TensorDataset` indexed by a batch of indices: each tensor's rows gathered by one
    ``index_select``, where the default collation stacks the utterances one by one."""

    def __getitem__(self, indices: list[int]) -> tuple[torch.Tensor, ...]:
        rows = torch.as_tensor(indices)
        return tuple(tensor.index_select(0, rows) for tensor in self.tensors)


def epoch_runner(
    model: nn.Module, train: Subset, batch_size: int, seed: int, optimizer: torch.optim.Optimizer
) -> Callable[[], float]:
    """One epoch of cross-entropy steps over shuffled batches of ``train``; returns the mean loss.

    Shuffling draws from a generator seeded with ``seed`` (dropout from torch's global one): the batches of
    ``DataLoader(shuffle=True)``, each gathered by one ``index_select`` per tensor rather than stacked utterance by
    utterance. Batches go to the model's device.
    """
    dataset = BatchGathered(
        torch.as_tensor(train.features, dtype=torch.float32),
        valid_lengths(train.features, train.lengths),
        torch.as_tensor(train.labels, dtype=torch.long),
    )
    generator = torch.Generator().manual_seed(seed)
    batches = BatchSampler(RandomSampler(dataset, generator=generator), batch_size, drop_last=False)
    loader = DataLoader(dataset, sampler=batches, batch_size=None, generator=generator)
    loss_fn = nn.CrossEntropyLoss()

    def run() -> float:
        total = 0.0
        device = model_device(model)
        for batch in loader:
            inputs, lengths, labels = (t.to(device) for t in batch)
            optimizer.zero_grad()
            loss = loss_fn(model(trim(inputs, lengths), lengths), labels)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(labels)
        return total / len(dataset)

    return run


def validation_accuracy(model: nn.Module, validation: Subset) -> Callable[[], float]:
    """The share of ``validation`` utterances ``model`` classifies correctly, as a function of no arguments."""
    return lambda: float((predict(model, validation.features, validation.lengths) == validation.labels).mean())


def train_classifier(
    model: nn.Module,
    train: Subset,
    validation: Subset,
    cfg: TrainSettings,
    seed: int,
    run: str = "training",
    device: torch.device | str = "cpu",
) -> dict:
    """Train ``model`` in place on ``device`` and keep the epoch with the best validation accuracy; the model
    ends on the CPU.

    Args:
        model: a registered classifier with standardization buffers.
        train: the training subset.
        validation: the validation subset (never the test subset).
        cfg: training settings.
        seed: seeds weight init order, shuffling and dropout.
        run: what is trained, for error messages (``mlp fold 3 seed 1``).

    Returns:
        History (see :func:`serbench.training.fit`): ``best_epoch``, ``best_validation_accuracy``,
        ``epochs_run`` and per-epoch ``train_loss`` and ``validation_accuracy``.
    """
    torch.manual_seed(seed)
    model.fit_standardization(train.features, train.lengths)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    history = fit(
        model,
        epoch_runner(model, train, cfg.batch_size, seed, optimizer),
        validation_accuracy(model, validation),
        cfg.max_epochs,
        cfg.patience,
        run=run,
    )
    model.cpu()
    return history | {"device": str(device)}
