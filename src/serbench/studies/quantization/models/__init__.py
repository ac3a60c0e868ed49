"""Downstream classifiers, registered by name (a registry dict, never ``eval``)."""

from __future__ import annotations

from typing import Any

from torch import nn

from serbench.errors import UnknownNameError
from serbench.sequences import trim, valid_lengths
from serbench.studies.quantization.models.attention_gru import AttentionGRU
from serbench.studies.quantization.models.base import (
    Classifier,
    LengthBatches,
    batch_logits,
    length_batches,
    logits,
    predict,
    weights_key,
)
from serbench.studies.quantization.models.cnn1d import CNN1D
from serbench.studies.quantization.models.lstm import LSTMClassifier
from serbench.studies.quantization.models.mlp import MLP

MODELS: dict[str, type[Classifier]] = {
    "mlp": MLP,
    "lstm": LSTMClassifier,
    "attention_gru": AttentionGRU,
    "cnn1d": CNN1D,
}


def model_class(name: str) -> type[Classifier]:
    """The class registered under ``name``.

    Raises:
        KeyError: no such model; the message lists the registered ones.
    """
    if name not in MODELS:
        raise UnknownNameError(f"unknown model {name!r}; registered: {sorted(MODELS)}")
    return MODELS[name]


def build_model(name: str, **kwargs: Any) -> Classifier:
    """Instantiate the model registered under ``name`` with ``kwargs``."""
    return model_class(name)(**kwargs)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (buffers excluded)."""
    return sum(p.numel() for p in model.parameters())


__all__ = [
    "MODELS",
    "Classifier",
    "LengthBatches",
    "batch_logits",
    "build_model",
    "count_parameters",
    "length_batches",
    "logits",
    "model_class",
    "predict",
    "trim",
    "valid_lengths",
    "weights_key",
]
