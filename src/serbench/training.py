"""The one training loop of the suite: epochs, a validation score, early stopping and best-epoch restore.

Every trainer (the feature models, the DistilHuBERT head and fine-tuning, the
self-distillation model, quantization-aware fine-tuning) supplies what one
epoch does and how the model is scored on validation data; :func:`fit` runs
them and keeps the weights of the best validation epoch. Model selection reads
the validation score only.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable

from torch import nn

from serbench.errors import SerbenchError
from serbench.progress import progress

log = logging.getLogger(__name__)


class NonFiniteLossError(SerbenchError, RuntimeError):
    """A training run whose loss became NaN or Inf: its weights are lost, nothing is kept of it."""


class BestEpoch:
    """Tracks the epoch with the highest validation score.

    Args:
        patience: epochs without a better score before :meth:`update` says stop;
            ``None`` never stops early.

    >>> tracker = BestEpoch(patience=2)
    >>> model = nn.Linear(1, 1)
    >>> [tracker.update(epoch, score, model) for epoch, score in enumerate([0.5, 0.7, 0.6, 0.6], start=1)]
    [False, False, False, True]
    >>> tracker.best_epoch, tracker.best_score
    (2, 0.7)
    """

    def __init__(self, patience: int | None):
        self.patience = patience
        self.best_score, self.best_epoch, self._state = float("-inf"), 0, None

    def update(self, epoch: int, score: float, model: nn.Module) -> bool:
        """Record one epoch's validation score; returns whether to stop."""
        if score > self.best_score:
            self.best_score, self.best_epoch, self._state = score, epoch, copy.deepcopy(model.state_dict())
            return False
        return self.patience is not None and epoch - self.best_epoch >= self.patience

    def restore(self, model: nn.Module) -> None:
        """Load the best epoch's weights back into ``model``."""
        model.load_state_dict(self._state)


def fit(
    model: nn.Module,
    train_epoch: Callable[[], float],
    validate: Callable[[], float],
    epochs: int,
    patience: int | None,
    metric: str = "accuracy",
    restore_best: bool = True,
    epoch_log_level: int = logging.DEBUG,
    run: str = "training",
    score_start: bool = False,
) -> dict:
    """Train ``model`` in place for up to ``epochs`` epochs, scoring it on validation data after each.

    Args:
        model: put in train mode before each epoch (``validate`` sets eval mode itself).
        train_epoch: runs one epoch over the training data; returns its mean loss.
        validate: the validation score of the current weights (higher is better).
        epochs: upper bound on epochs.
        patience: stop after this many epochs without a better score; ``None`` runs every epoch.
        metric: name of the score in the history (``accuracy``, ``uar``).
        restore_best: load the best epoch's weights at the end (``False`` keeps the last epoch's).
        epoch_log_level: logging level of the per-epoch line (INFO for long epochs such as fine-tuning).
        run: what is trained (``mlp fold 3 seed 1``), for progress lines and the error message.
        score_start: score the weights before any epoch as epoch 0, a candidate like the others (fine-tuning
            of a trained model: training on may not help).

    Returns:
        History: per-epoch ``train_loss``, ``validation_<metric>``, ``epoch_seconds`` (wall) and
        ``epoch_cpu_seconds`` (this process's CPU, all threads; a GPU's time is not in it);
        ``best_epoch``, ``best_validation_<metric>``, ``epochs_run``.

    Raises:
        NonFiniteLossError: an epoch's mean training loss is NaN or Inf.
    """
    history: dict = {"train_loss": [], f"validation_{metric}": [], "epoch_seconds": [], "epoch_cpu_seconds": []}
    best = BestEpoch(patience)
    if score_start:
        best.update(0, validate(), model)
    epoch = 0
    for epoch in progress(range(1, epochs + 1), run, "epoch"):
        start, cpu = time.perf_counter(), time.process_time()
        model.train()
        loss = train_epoch()
        if not math.isfinite(loss):
            raise NonFiniteLossError(
                f"{run}: training loss is {loss} at epoch {epoch}; non-finite features or weights "
                "(a corpus file with NaN/Inf samples, or a learning rate too high)"
            )
        score = validate()
        history["train_loss"].append(loss)
        history[f"validation_{metric}"].append(score)
        history["epoch_seconds"].append(time.perf_counter() - start)
        history["epoch_cpu_seconds"].append(time.process_time() - cpu)
        log.log(
            epoch_log_level,
            "epoch %d: train loss %.4f, validation %s %.4f, %.0f s",
            epoch,
            loss,
            metric,
            score,
            history["epoch_seconds"][-1],
        )
        if best.update(epoch, score, model):
            break
    if restore_best:
        best.restore(model)
    log.info("best validation %s %.4f at epoch %d of %d", metric, best.best_score, best.best_epoch, epoch)
    return {**history, "best_epoch": best.best_epoch, f"best_validation_{metric}": best.best_score, "epochs_run": epoch}
