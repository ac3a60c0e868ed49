"""Model selection on a validation score: keep the best epoch's weights, stop when patience runs out."""

from __future__ import annotations

import copy

from torch import nn


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
