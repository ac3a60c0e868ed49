"""Weight quantizers, registered by name: how a float tensor becomes b-bit codes and back.

Every quantizer maps a tensor ``w`` to unsigned codes ``c`` of ``b`` bits and,
per channel, a float32 ``scale`` and ``offset``, restored as
``ŵ = scale · c + offset``; the channel is the first axis (output units,
convolution filters, recurrent gate rows) for per-channel quantizers, the
whole tensor otherwise. Scale and offset are stored beside the codes, and the
sizes count them. Shinde et al. 2024 name no quantizer ("converted to lower
bit-width representations"), so the faithful default is the plain one:

- ``uniform``: 2^b levels, affine min-max per tensor (Jacob et al. 2018's
  asymmetric scheme for weights): ``scale = (max - min) / (2^b - 1)``,
  ``offset = min``; at one bit the two levels are ``min`` and ``max``.
- ``mse``: 2^b affine levels per output channel, with the clipping range
  ``[r·min, r·max]`` whose ``r`` (searched in 1.00, 0.98, ..., 0.30)
  minimises the channel's squared error (Banner et al. 2019's MSE clipping).
- ``ternary``: TWN at two bits (Li & Liu 2016: threshold ``Δ = 0.7·mean|w|``,
  levels ``{-α, 0, +α}``, ``α`` the mean of ``|w| > Δ``); XNOR-Net at one bit
  (Rastegari et al. 2016, eq. 4: ``sign(w)·mean|w|``, the L2-optimal binary
  scale); ``uniform`` above two bits.
- ``symmetric``: ``2^(b-1) - 1`` levels each side of zero, ``scale = max|w| / Q``
  (one bit: ``sign(w)·mean|w|``). Earlier releases used it; at two bits it is a
  three-level code ``{-max|w|, 0, +max|w|}`` that zeroes most weights, kept to
  show that distortion.

All of them are torch functions, so one implementation serves packing,
fake quantization and quantization-aware training (straight-through
estimator, :func:`straight_through`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import nn

from serbench.errors import UnknownNameError
from serbench.lowbit.layers import quantization_layers

FLOAT_BITS = 32
CLIP_RATIOS = torch.linspace(1.0, 0.3, 36)


class Codes(NamedTuple):
    """A quantized tensor: ``codes`` (uint8, the tensor's shape), ``scale`` and ``offset`` (float32, per channel)."""

    codes: torch.Tensor
    scale: torch.Tensor
    offset: torch.Tensor


def _per_channel(weights: torch.Tensor) -> torch.Tensor:
    """``(channels, values)``: rows along the first axis for matrices and kernels, one row for a vector."""
    return weights.reshape(weights.shape[0], -1) if weights.ndim > 1 else weights.reshape(1, -1)


def _affine(rows: torch.Tensor, bits: int, low: torch.Tensor, high: torch.Tensor) -> Codes:
    """2^bits levels from ``low`` to ``high`` per row (``(rows, 1)`` bounds)."""
    top = 2**bits - 1
    scale = torch.where(high > low, (high - low) / top, torch.ones_like(low))
    codes = torch.clamp(torch.round((rows - low) / scale), 0, top)
    return Codes(codes.to(torch.uint8), scale.squeeze(1), low.squeeze(1))


def uniform(weights: torch.Tensor, bits: int) -> Codes:
    """2^b levels, affine min-max over the whole tensor.

    >>> uniform(torch.tensor([-1.0, 0.2, 0.4, 2.0]), 2)
    Codes(codes=tensor([0, 1, 1, 3], dtype=torch.uint8), scale=tensor([1.]), offset=tensor([-1.]))
    """
    flat = weights.reshape(1, -1).float()
    codes = _affine(flat, bits, flat.min(dim=1, keepdim=True).values, flat.max(dim=1, keepdim=True).values)
    return codes._replace(codes=codes.codes.reshape(weights.shape))


def mse(weights: torch.Tensor, bits: int) -> Codes:
    """2^b affine levels per output channel, clipping range chosen to minimise each channel's squared error.

    >>> w = torch.tensor([[-1.0, -0.1, 0.0, 0.1, 0.2, 10.0]])  # one outlier: clipping it lowers the error
    >>> float(mse(w, 2).scale[0]) < float(uniform(w, 2).scale[0])
    True
    """
    rows = _per_channel(weights).float()
    low, high = rows.min(dim=1, keepdim=True).values, rows.max(dim=1, keepdim=True).values
    ratios = CLIP_RATIOS.to(rows.device)
    top = 2**bits - 1
    full = torch.where(high > low, (high - low) / top, torch.ones_like(low))  # (rows, 1): the min-max step
    errors = torch.empty(len(ratios), len(rows), device=rows.device)  # (ratios, rows)
    for i, ratio in enumerate(ratios):  # one candidate range at a time: the (rows, values) arrays stay in cache
        scale = full * ratio
        restored = torch.clamp(torch.round((rows - ratio * low) / scale), 0, top) * scale + ratio * low
        errors[i] = ((restored - rows) ** 2).sum(dim=1)
    best = ratios[errors.argmin(dim=0)].reshape(-1, 1)  # (rows, 1)
    codes = _affine(rows, bits, best * low, best * high)
    return Codes(codes.codes.reshape(weights.shape), codes.scale, codes.offset)


def _binary(weights: torch.Tensor) -> Codes:
    """XNOR-Net: ``sign(w)·mean|w|`` (zero counts as +), as codes {0, 1} with scale 2α and offset -α."""
    alpha = weights.abs().mean().reshape(1).float()
    return Codes((weights >= 0).to(torch.uint8), 2 * alpha, -alpha)


def ternary(weights: torch.Tensor, bits: int) -> Codes:
    """TWN at 2 bits, XNOR binary at 1 bit, :func:`uniform` above.

    >>> ternary(torch.tensor([-1.0, -0.1, 0.05, 0.9]), 2)
    Codes(codes=tensor([0, 1, 1, 2], dtype=torch.uint8), scale=tensor([0.9500]), offset=tensor([-0.9500]))
    """
    if bits == 1:
        return _binary(weights)
    if bits > 2:
        return uniform(weights, bits)
    magnitude = weights.abs().float()
    large = magnitude > 0.7 * magnitude.mean()
    alpha = (magnitude[large].mean() if large.any() else magnitude.mean()).reshape(1)
    codes = torch.where(large, torch.where(weights > 0, 2, 0), 1).to(torch.uint8)
    return Codes(codes, alpha, -alpha)


def symmetric(weights: torch.Tensor, bits: int) -> Codes:
    """2^(b-1) - 1 levels each side of zero, scale max|w| / Q; one bit: XNOR binary.

    >>> symmetric(torch.tensor([-1.2, 0.2, 0.7, 1.2]), 2).codes.tolist()  # three levels only
    [0, 1, 2, 2]
    """
    if bits == 1:
        return _binary(weights)
    levels = 2 ** (bits - 1) - 1
    peak = weights.abs().max().float()
    scale = (peak / levels if peak > 0 else torch.ones((), device=weights.device)).reshape(1)
    codes = torch.clamp(torch.round(weights.float() / scale), -levels, levels) + levels
    return Codes(codes.to(torch.uint8), scale, -levels * scale)


QUANTIZERS: dict[str, Callable[[torch.Tensor, int], Codes]] = {
    "uniform": uniform,
    "mse": mse,
    "ternary": ternary,
    "symmetric": symmetric,
}


def quantize(weights: torch.Tensor, bits: int, quantizer: str) -> Codes:
    """Codes, scales and offsets of ``weights`` at ``bits`` (1 to 8) with a registered quantizer.

    Raises:
        ValueError: ``bits`` outside 1..8.
        KeyError: unknown quantizer; the message lists the registered ones.
    """
    if not 1 <= bits <= 8:
        raise ValueError(f"bit-width {bits} outside 1..8")
    if quantizer not in QUANTIZERS:
        raise UnknownNameError(f"unknown quantizer {quantizer!r}; registered: {sorted(QUANTIZERS)}")
    return QUANTIZERS[quantizer](weights.detach(), bits)


def dequantize(codes: Codes) -> torch.Tensor:
    """``scale · c + offset`` per channel: float32, the codes' shape."""
    rows = _per_channel(codes.codes).float()
    channels = len(codes.scale)
    restored = rows.reshape(channels, -1) * codes.scale[:, None] + codes.offset[:, None]
    return restored.reshape(codes.codes.shape)


def fake_quantize(weights: torch.Tensor, bits: int, quantizer: str) -> torch.Tensor:
    """Quantize and restore in one step (float32, same shape); ``bits = 32`` returns the weights unchanged."""
    if bits == FLOAT_BITS:
        return weights.detach().float()
    return dequantize(quantize(weights, bits, quantizer))


def straight_through(weights: torch.Tensor, bits: int, quantizer: str) -> torch.Tensor:
    """Fake-quantized weights in the forward pass, the identity's gradient in the backward pass (STE)."""
    return weights + (fake_quantize(weights, bits, quantizer) - weights).detach()


def cached_codes(cache: dict, name: str, weights: torch.Tensor, bits: int, quantizer: str) -> Codes:
    """:func:`quantize` of the tensor called ``name`` at ``bits``, computed once per ``cache``."""
    if (name, bits) not in cache:
        cache[(name, bits)] = quantize(weights, bits, quantizer)
    return cache[(name, bits)]


def fake_quantize_model(model: nn.Module, bits: dict[str, int], quantizer: str, cache: dict | None = None) -> nn.Module:
    """A copy of ``model`` whose layers carry fake-quantized weights (:func:`load_fake_quantized` into a deep copy).

    Args:
        model: a registered classifier.
        bits: bit-width per layer name of :func:`quantization_layers`; a layer left out keeps float32 weights.
        quantizer: a registered quantizer.
        cache: a dict kept between calls on the same model and quantizer (:func:`cached_codes`), so that a
            search quantizes each tensor at each width once.

    Raises:
        KeyError: a layer name the model does not have.
    """
    return load_fake_quantized(copy.deepcopy(model), model, bits, quantizer, cache)


def load_fake_quantized(
    target: nn.Module, model: nn.Module, bits: dict[str, int], quantizer: str, cache: dict | None = None
) -> nn.Module:
    """Overwrite every parameter of ``target``, a copy of ``model``, with ``model``'s: fake-quantized at ``bits``
    where its layer has a width, float32 elsewhere; returns ``target``. One copy reused across assignments costs
    no deep copy per assignment (arguments and errors as :func:`fake_quantize_model`)."""
    layers = quantization_layers(model)
    unknown = set(bits) - set(layers)
    if unknown:
        raise KeyError(f"model has no layers {sorted(unknown)}; its layers are {list(layers)}")
    cache = {} if cache is None else cache
    weights, params = dict(model.named_parameters()), dict(target.named_parameters())
    with torch.no_grad():
        for layer, names in layers.items():
            for name in names:
                if layer in bits:
                    value = dequantize(cached_codes(cache, name, weights[name], bits[layer], quantizer))
                else:
                    value = weights[name]
                params[name].copy_(value)
    return target
