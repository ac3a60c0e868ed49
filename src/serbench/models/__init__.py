"""Downstream classifiers, registered by name (a registry dict, never ``eval``)."""

from __future__ import annotations

from typing import Any

from torch import nn

from serbench.models.mlp import MLP

MODELS: dict[str, type[nn.Module]] = {
    "mlp": MLP,
}


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Instantiate the model registered under ``name`` with ``kwargs``.

    Raises:
        KeyError: no such model; the message lists the registered ones.
    """
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; registered: {sorted(MODELS)}")
    return MODELS[name](**kwargs)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (buffers excluded)."""
    return sum(p.numel() for p in model.parameters())
