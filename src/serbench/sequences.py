"""Batches of variable-length frame sequences: their valid lengths, and the batch cut to its longest one."""

from __future__ import annotations

import numpy as np
import torch


def valid_lengths(features: np.ndarray, lengths: np.ndarray | None) -> torch.Tensor:
    """``lengths`` as a long tensor ``(N,)``; all frames (or 1 for utterance-level inputs) when ``None``."""
    if lengths is None:
        lengths = np.full(len(features), features.shape[1] if features.ndim == 3 else 1)
    return torch.as_tensor(lengths, dtype=torch.long)


def trim(inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """A batch of frame sequences ``(batch, frames, dim)`` cut to its longest valid length; other inputs unchanged.

    Every family ignores what follows an utterance's ``lengths`` frames, so this changes no result, only the work.

    >>> trim(torch.zeros(2, 9, 3), torch.tensor([4, 6])).shape
    torch.Size([2, 6, 3])
    """
    return inputs[:, : int(lengths.max())] if inputs.ndim == 3 else inputs
