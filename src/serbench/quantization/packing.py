"""Bit-packed model files (``.sbq``): b bits per weight plus per-tensor scales.

Layout, little-endian::

    b"SBQ1" | uint32 header length | JSON header | tensor payloads

The header names the registered model, its constructor arguments, the class
names and, per tensor, its shape, bit-width and payload length. A quantized
tensor's payload is its float32 scale followed by its codes packed ``bits`` to
a value with :func:`numpy.packbits` (most significant bit first); a float32
tensor or buffer is stored raw.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from serbench.atomic import atomic_path
from serbench.cache import damaged
from serbench.models import build_model
from serbench.quantization.layers import quantization_layers
from serbench.quantization.quantizers import FLOAT_BITS, dequantize_array, quantize_array

MAGIC = b"SBQ1"


def pack_codes(codes: np.ndarray, bits: int) -> bytes:
    """Pack unsigned codes of ``bits`` bits each into ``ceil(n·bits/8)`` bytes.

    >>> pack_codes(np.array([1, 2, 3]), 2).hex()
    '6c'
    """
    flat = np.asarray(codes, dtype=np.uint8).ravel()
    shifts = np.arange(bits - 1, -1, -1, dtype=np.uint8)
    bit_matrix = (flat[:, None] >> shifts) & 1  # (n, bits), most significant first
    return np.packbits(bit_matrix.ravel()).tobytes()


def unpack_codes(payload: bytes, count: int, bits: int) -> np.ndarray:
    """Inverse of :func:`pack_codes`: ``count`` codes, uint8, shape ``(count,)``."""
    bit_matrix = np.unpackbits(np.frombuffer(payload, dtype=np.uint8), count=count * bits).reshape(count, bits)
    weights = (1 << np.arange(bits - 1, -1, -1)).astype(np.uint8)
    return (bit_matrix * weights).sum(axis=1).astype(np.uint8)


def save_packed(
    path: str | Path,
    model: nn.Module,
    model_name: str,
    model_kwargs: dict[str, Any],
    classes: list[str],
    bits: dict[str, int],
) -> int:
    """Write ``model`` quantized to ``bits`` per layer (32 = float32) as a packed file.

    Args:
        path: destination (written atomically).
        model: float32 model.
        model_name: its registry name; ``model_kwargs`` rebuild it.
        classes: class names in label-index order.
        bits: bit-width per layer of :func:`quantization_layers`; missing layers stay float32.

    Returns:
        The file's size in bytes.
    """
    layer_bits = {
        name: bits.get(layer, FLOAT_BITS) for layer, names in quantization_layers(model).items() for name in names
    }
    entries, payloads = [], []
    for name, tensor in list(model.named_parameters()) + list(model.named_buffers()):
        values = tensor.detach().numpy().astype(np.float32)
        width = layer_bits.get(name, FLOAT_BITS)
        if width == FLOAT_BITS:
            payload = values.tobytes()
        else:
            codes, scale = quantize_array(values, width)
            payload = np.float32(scale).tobytes() + pack_codes(codes, width)
        entries.append({"name": name, "shape": list(values.shape), "bits": width, "nbytes": len(payload)})
        payloads.append(payload)
    header = json.dumps(
        {"model": model_name, "kwargs": model_kwargs, "classes": classes, "tensors": entries}, separators=(",", ":")
    ).encode()
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as out:
            out.write(MAGIC + struct.pack("<I", len(header)) + header)
            for payload in payloads:
                out.write(payload)
    return Path(path).stat().st_size


def load_packed(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model stored by :func:`save_packed`, weights dequantized.

    Returns:
        ``(model, header)``: the model in eval mode; the header dict.

    Raises:
        DamagedFileError: the file is not a serbench packed model or is damaged;
            the message names the file and the command that rebuilds it.
    """
    try:
        data = Path(path).read_bytes()
        if data[:4] != MAGIC:
            raise ValueError("no SBQ1 magic")
        (header_len,) = struct.unpack("<I", data[4:8])
        header = json.loads(data[8 : 8 + header_len])
        offset, state = 8 + header_len, {}
        for entry in header["tensors"]:
            payload = data[offset : offset + entry["nbytes"]]
            if len(payload) != entry["nbytes"]:
                raise ValueError(f"tensor {entry['name']} is cut short")
            offset += entry["nbytes"]
            count, width = int(np.prod(entry["shape"])), entry["bits"]
            if width == FLOAT_BITS:
                values = np.frombuffer(payload, dtype=np.float32)
            else:
                scale = np.frombuffer(payload[:4], dtype=np.float32)[0]
                values = dequantize_array(unpack_codes(payload[4:], count, width), scale, width)
            state[entry["name"]] = torch.from_numpy(values.copy().reshape(entry["shape"]))
        if offset != len(data):
            raise ValueError(f"{len(data) - offset} trailing bytes")
        model = build_model(header["model"], **header["kwargs"])
        model.load_state_dict(state)
    except (OSError, ValueError, KeyError, struct.error, json.JSONDecodeError, RuntimeError) as err:
        raise damaged(path, "packed model", err) from err
    return model.eval(), header
