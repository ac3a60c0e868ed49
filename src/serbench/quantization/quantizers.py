"""Per-tensor symmetric uniform quantization of weights, 1 to 8 bits.

For ``b >= 2`` bits a tensor ``w`` is mapped to integers
``q = clip(round(w / s), -Q, Q)`` with ``Q = 2^(b-1) - 1`` and scale
``s = max|w| / Q``, and restored as ``q * s`` (symmetric, zero exactly
representable). For ``b = 1`` the code is the sign (zero counts as +) and the
scale is ``mean|w|``, the L2-optimal binary scale of XNOR-Net (Rastegari et
al. 2016, eq. 4). Codes are stored unsigned, ``q + Q`` (or ``0/1`` for one
bit), so that each fits in ``b`` bits.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from serbench.quantization.layers import quantization_layers

FLOAT_BITS = 32


def quantize_array(weights: np.ndarray, bits: int) -> tuple[np.ndarray, np.float32]:
    """Quantize a float array to unsigned ``bits``-bit codes and one scale.

    Args:
        weights: float array of any shape.
        bits: 1 to 8.

    Returns:
        ``(codes, scale)``: codes uint8 of the same shape, values in
        ``[0, 2^bits - 1)`` (one-bit codes in ``{0, 1}``); scale float32.

    Raises:
        ValueError: ``bits`` outside 1..8.

    >>> codes, scale = quantize_array(np.array([-1.0, 0.2, 0.6]), 2)
    >>> codes.tolist(), float(scale)
    ([0, 1, 2], 1.0)
    """
    if not 1 <= bits <= 8:
        raise ValueError(f"bit-width {bits} outside 1..8")
    weights = np.asarray(weights, dtype=np.float32)
    if bits == 1:
        scale = np.float32(np.abs(weights).mean())
        return (weights >= 0).astype(np.uint8), scale
    levels = 2 ** (bits - 1) - 1
    peak = np.float32(np.abs(weights).max())
    scale = np.float32(peak / levels) if peak > 0 else np.float32(1.0)
    q = np.clip(np.round(weights / scale), -levels, levels)
    return (q + levels).astype(np.uint8), scale


def dequantize_array(codes: np.ndarray, scale: np.float32, bits: int) -> np.ndarray:
    """Float32 values of codes from :func:`quantize_array` (same shape)."""
    if bits == 1:
        signed = codes.astype(np.float32) * 2 - 1
    else:
        signed = codes.astype(np.float32) - (2 ** (bits - 1) - 1)
    return signed * np.float32(scale)


def fake_quantize(weights: np.ndarray, bits: int) -> np.ndarray:
    """Quantize and restore in one step: float32 array of the same shape.

    ``bits = 32`` returns the weights unchanged.
    """
    if bits == FLOAT_BITS:
        return np.asarray(weights, dtype=np.float32)
    return dequantize_array(*quantize_array(weights, bits), bits)


def fake_quantize_model(model: nn.Module, bits: dict[str, int]) -> nn.Module:
    """A copy of ``model`` whose layers carry fake-quantized weights.

    Args:
        model: a registered classifier.
        bits: bit-width per layer name of :func:`quantization_layers`; a
            layer left out keeps float32 weights.

    Raises:
        KeyError: a layer name the model does not have.
    """
    layers = quantization_layers(model)
    unknown = set(bits) - set(layers)
    if unknown:
        raise KeyError(f"model has no layers {sorted(unknown)}; its layers are {list(layers)}")
    quantized = copy.deepcopy(model)
    params = dict(quantized.named_parameters())
    with torch.no_grad():
        for layer, width in bits.items():
            for name in layers[layer]:
                restored = fake_quantize(params[name].detach().numpy(), width)
                params[name].copy_(torch.from_numpy(restored))
    return quantized
