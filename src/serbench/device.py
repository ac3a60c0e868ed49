"""Where the suite's torch steps run: the ``device`` setting (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``).

Training, quantization-aware fine-tuning, evaluation, the allocators' traces
and the SSL encoders run on the device; packing, ONNX export, int8 evaluation
and latency stay on the CPU they measure. Models move, data moves with them,
and every result returns to the CPU.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from serbench.errors import InputError


def resolve_device(name: str) -> torch.device:
    """The torch device a setting names: ``auto`` is CUDA where there is one, else Apple's MPS, else the CPU.

    >>> resolve_device("cpu")
    device(type='cpu')

    Raises:
        InputError: a named device this machine does not have (``cuda`` without CUDA, ``cuda:3`` on a 2-GPU
            machine, ``mps`` off Apple silicon) or an unknown name.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if torch.backends.mps.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise InputError(f"device {name!r}: not a device name (auto, cpu, cuda, cuda:N, mps)") from err
    if device.type == "cuda" and not (torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count()):
        raise InputError(f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA devices")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise InputError(f"device {name!r}: Apple's MPS is not available here")
    return device


def model_device(model: nn.Module) -> torch.device:
    """The device of ``model``'s first parameter (the CPU for a model without parameters)."""
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def on_device(model: nn.Module, device: torch.device | str | None) -> nn.Module:
    """``model`` itself where it already is on ``device`` (or ``device`` is ``None``), else a copy moved there:
    the caller's model, its packing and its quantization codes stay where they were."""
    if device is None or model_device(model) == torch.device(device):
        return model
    return copy.deepcopy(model).to(device)
