"""Bit-packed model files (``.sbq``): b bits per weight plus the scales and offsets the quantizer stores.

Layout, little-endian::

    b"SBQ2" | uint32 header length | JSON header | tensor payloads

The header names the registered model, its constructor arguments, the class
names, the quantizer, the SHA-256 of the payloads, and per tensor its shape,
bit-width, channels and payload length. A quantized tensor's payload is its
float32 scales, its float32 offsets (one each per channel) and its codes
packed ``bits`` to a value with :func:`numpy.packbits` (most significant bit
first); a float32 tensor or buffer is stored raw. Reading checks the
checksum, so a damaged file is named rather than silently mispredicting.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from serbench.atomic import atomic_path
from serbench.lowbit.layers import quantization_layers
from serbench.lowbit.quantizers import FLOAT_BITS, Codes, cached_codes, dequantize
from serbench.step_files import damaged
from serbench.studies.quantization.models import build_model

MAGIC = b"SBQ2"


def pack_codes(codes: np.ndarray, bits: int) -> bytes:
    """Pack unsigned codes of ``bits`` bits each into ``ceil(n·bits/8)`` bytes.

    >>> pack_codes(np.array([1, 2, 3]), 2).hex()
    '6c'
    """
    flat = np.asarray(codes, dtype=np.uint8).ravel()
    bit_matrix = np.unpackbits((flat << (8 - bits))[:, None], axis=1, count=bits)  # (n, bits), most significant first
    return np.packbits(bit_matrix).tobytes()


def unpack_codes(payload: bytes, count: int, bits: int) -> np.ndarray:
    """Inverse of :func:`pack_codes`: ``count`` codes, uint8, shape ``(count,)``."""
    bit_matrix = np.unpackbits(np.frombuffer(payload, dtype=np.uint8), count=count * bits).reshape(count, bits)
    return np.packbits(bit_matrix, axis=1).ravel() >> (8 - bits)  # each row's bits, zero-filled to a byte


def stored_bytes(n_values: int, bits: int, channels: int) -> int:
    """Bytes one tensor's payload takes: packed codes plus a float32 scale and offset per channel, or raw float32.

    >>> stored_bytes(1000, 2, 4), stored_bytes(1000, 32, 1)
    (282, 4000)
    """
    return 4 * n_values if bits == FLOAT_BITS else -(-n_values * bits // 8) + 8 * channels


def save_packed(
    path: str | Path,
    model: nn.Module,
    model_name: str,
    model_kwargs: dict[str, Any],
    classes: list[str],
    bits: dict[str, int],
    quantizer: str = "uniform",
    cache: dict | None = None,
    inputs: dict[str, Any] | None = None,
) -> int:
    """Write ``model`` quantized to ``bits`` per layer (32 = float32) with ``quantizer`` as a packed file.

    Args:
        path: destination (written atomically).
        model: float32 model.
        model_name: its registry name; ``model_kwargs`` rebuild it.
        classes: class names in label-index order.
        bits: bit-width per layer of :func:`quantization_layers`; missing layers stay float32.
        quantizer: a registered quantizer (:mod:`serbench.lowbit.quantizers`).
        cache: codes already computed for this model and quantizer (``quantizers.cached_codes``).
        inputs: how the model's inputs are made from audio (feature set and its settings, frames kept,
            normalisation), stored for ``serbench predict``; ``{}`` when not given.

    Returns:
        The file's size in bytes.
    """
    layer_bits = {n: bits.get(layer, FLOAT_BITS) for layer, names in quantization_layers(model).items() for n in names}
    entries, payloads = [], []
    for name, tensor in list(model.named_parameters()) + list(model.named_buffers()):
        width, channels = layer_bits.get(name, FLOAT_BITS), 1
        if width == FLOAT_BITS:
            payload = tensor.detach().numpy().astype(np.float32).tobytes()
        else:
            codes = cached_codes({} if cache is None else cache, name, tensor, width, quantizer)
            channels = len(codes.scale)
            payload = (
                codes.scale.numpy().astype(np.float32).tobytes()
                + codes.offset.numpy().astype(np.float32).tobytes()
                + pack_codes(codes.codes.numpy(), width)
            )
        entries.append(
            {"name": name, "shape": list(tensor.shape), "bits": width, "channels": channels, "nbytes": len(payload)}
        )
        payloads.append(payload)
    body = b"".join(payloads)
    header = json.dumps(
        {
            "model": model_name,
            "kwargs": model_kwargs,
            "classes": classes,
            "inputs": inputs or {},
            "quantizer": quantizer,
            "sha256": hashlib.sha256(body).hexdigest(),
            "tensors": entries,
        },
        separators=(",", ":"),
    ).encode()
    with atomic_path(path) as tmp:
        tmp.write_bytes(MAGIC + struct.pack("<I", len(header)) + header + body)
    return Path(path).stat().st_size


def _tensor(entry: dict, payload: bytes) -> torch.Tensor:
    count, width, channels = int(np.prod(entry["shape"])), entry["bits"], entry["channels"]
    if width == FLOAT_BITS:
        return torch.from_numpy(np.frombuffer(payload, dtype=np.float32).copy()).reshape(entry["shape"])
    scale = torch.from_numpy(np.frombuffer(payload[: 4 * channels], dtype=np.float32).copy())
    offset = torch.from_numpy(np.frombuffer(payload[4 * channels : 8 * channels], dtype=np.float32).copy())
    codes = torch.from_numpy(unpack_codes(payload[8 * channels :], count, width)).reshape(entry["shape"])
    return dequantize(Codes(codes, scale, offset))


def load_packed(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model stored by :func:`save_packed`, weights dequantized.

    Returns:
        ``(model, header)``: the model in eval mode; the header dict.

    Raises:
        DamagedFileError: the file is not a serbench packed model, or its payload does not match its
            checksum; the message names the file and the command that rebuilds it.
    """
    try:
        data = Path(path).read_bytes()
        if data[:4] != MAGIC:
            raise ValueError("no SBQ2 magic")
        (header_len,) = struct.unpack("<I", data[4:8])
        header = json.loads(data[8 : 8 + header_len])
        body = data[8 + header_len :]
        if hashlib.sha256(body).hexdigest() != header["sha256"]:
            raise ValueError("payload does not match its checksum")
        offset, state = 0, {}
        for entry in header["tensors"]:
            payload = body[offset : offset + entry["nbytes"]]
            if len(payload) != entry["nbytes"]:
                raise ValueError(f"tensor {entry['name']} is cut short")
            offset += entry["nbytes"]
            state[entry["name"]] = _tensor(entry, payload)
        if offset != len(body):
            raise ValueError(f"{len(body) - offset} trailing bytes")
        with torch.device("meta"):  # no initialisation of weights the file replaces
            model = build_model(header["model"], **header["kwargs"])
        model.load_state_dict(state, assign=True)
    except (OSError, ValueError, KeyError, struct.error, RuntimeError) as err:
        raise damaged(path, "packed model", err) from err
    return model.eval(), header
