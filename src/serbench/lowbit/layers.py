"""What a "layer" is for importance and bit-width.

A layer is a group of parameter tensors that share one bit-width: the weight
and bias of a linear or convolution module, or for recurrent modules each
weight-matrix group (input-to-hidden ``ih_l0`` with its bias, hidden-to-hidden
``hh_l0`` with its bias). Every tensor keeps its own scale.
"""

from __future__ import annotations

from torch import nn


def layer_of(parameter_name: str) -> str:
    """Layer name of a parameter (``net.0.weight`` -> ``net.0``; ``gru.bias_hh_l0`` -> ``gru.hh_l0``)."""
    module, _, leaf = parameter_name.rpartition(".")
    kind = leaf.split("_", 1)[1] if "_" in leaf else ""
    return ".".join(part for part in (module, kind) if part)


def quantization_layers(model: nn.Module) -> dict[str, list[str]]:
    """Layer name -> parameter names, in the model's parameter order."""
    layers: dict[str, list[str]] = {}
    for name, _ in model.named_parameters():
        layers.setdefault(layer_of(name), []).append(name)
    return layers
