"""Loading self-supervised speech encoders with transformers, and building them from their configs.

``distilhubert.pretrained`` (or ``selfdistill.pretrained``) names a hub id (``ntu-spml/distilhubert``) or a local folder
written by ``save_pretrained``; :func:`load_upstream` reads either with
``from_pretrained``. Offline, :func:`save_random_upstream` writes a randomly
initialised encoder of a registered architecture to a folder, which then
loads through the same path: full size for true sizes and latencies, tiny for
tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from transformers import (
    AutoFeatureExtractor,
    AutoModel,
    HubertConfig,
    PretrainedConfig,
    Wav2Vec2Config,
    Wav2Vec2FeatureExtractor,
    WavLMConfig,
)

# Full-size configs of the encoders the studies use (the published architectures;
# transformers' defaults for these classes are the base models).
ARCHITECTURES: dict[str, Callable[..., PretrainedConfig]] = {
    "distilhubert": lambda **kw: HubertConfig(num_hidden_layers=2, **kw),  # Chang et al. 2022: 2 layers of HuBERT-base
    "hubert-base": HubertConfig,
    "wav2vec2-base": Wav2Vec2Config,
    "wavlm-base": WavLMConfig,
}
# Whether each architecture's feature extractor normalises the waveform (zero mean, unit variance).
NORMALIZES: dict[str, bool] = {"distilhubert": False, "hubert-base": False, "wav2vec2-base": True, "wavlm-base": False}
# A small shape of the same family, for tests: same layer types, few and narrow layers.
TINY = dict(
    hidden_size=32,
    num_attention_heads=2,
    intermediate_size=64,
    conv_dim=(16,) * 7,
    num_conv_pos_embeddings=16,
    num_conv_pos_embedding_groups=2,
)
# Narrow but full-depth, to train on a CPU with every exit layer of the full model present.
SMALL = dict(
    hidden_size=64,
    num_attention_heads=2,
    intermediate_size=128,
    conv_dim=(32,) * 7,
    num_conv_pos_embeddings=16,
    num_conv_pos_embedding_groups=2,
)
SIZES: dict[str, dict] = {"full": {}, "small": SMALL, "tiny": TINY}
MARKER = "serbench_init.json"


class EncoderUnavailable(RuntimeError):
    """The configured encoder cannot be loaded; the message names the config key to set."""


def build_config(architecture: str, size: str = "full", num_hidden_layers: int | None = None) -> PretrainedConfig:
    """Config of a registered architecture: ``size`` ``"full"``, ``"small"`` (full depth, narrow) or ``"tiny"``.

    Raises:
        KeyError: unknown architecture or size (the message lists the registered ones).
    """
    if architecture not in ARCHITECTURES or size not in SIZES:
        raise KeyError(
            f"unknown encoder {architecture!r} of size {size!r}; registered: {sorted(ARCHITECTURES)} × {sorted(SIZES)}"
        )
    overrides = dict(SIZES[size])
    if num_hidden_layers is not None:
        overrides["num_hidden_layers"] = num_hidden_layers
    return ARCHITECTURES[architecture](**overrides)


def save_random_upstream(
    architecture: str, out_dir: str | Path, size: str = "full", seed: int = 0, num_hidden_layers: int | None = None
) -> Path:
    """Write a randomly initialised encoder and its feature extractor with ``save_pretrained``.

    A marker file records that the weights are random, so that every table
    built from this encoder can say so.
    """
    torch.manual_seed(seed)
    model = AutoModel.from_config(build_config(architecture, size, num_hidden_layers))
    out = Path(out_dir)
    model.save_pretrained(out)
    Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=16000,
        padding_value=0.0,
        do_normalize=NORMALIZES[architecture],
        return_attention_mask=False,
    ).save_pretrained(out)
    (out / MARKER).write_text(
        json.dumps({"architecture": architecture, "size": size, "seed": seed, "random_init": True})
    )
    return out


def load_upstream(
    pretrained: str, key: str = "distilhubert.pretrained"
) -> tuple[torch.nn.Module, Wav2Vec2FeatureExtractor]:
    """Load an encoder and its feature extractor from a hub id or local folder, in eval mode.

    Args:
        pretrained: hub id or local ``save_pretrained`` folder.
        key: the config key that named it, for the error message.

    Raises:
        EncoderUnavailable: neither reachable on a hub nor a local folder; the message names ``key``.
    """
    looks_local = pretrained.startswith((".", "/", "~")) or pretrained.count("/") > 1
    if looks_local and not Path(pretrained).expanduser().is_dir():
        raise EncoderUnavailable(
            f"speech encoder folder {pretrained!r} not found; set {key} in config.yaml to a hub id or a "
            f"local folder saved with save_pretrained ('serbench init-encoder' writes a random one)"
        )
    try:
        model = AutoModel.from_pretrained(pretrained)
        extractor = AutoFeatureExtractor.from_pretrained(pretrained)
    except (OSError, ValueError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise EncoderUnavailable(
            f"cannot load speech encoder {pretrained!r} ({reason}); without hub access set {key} in "
            f"config.yaml to a local folder saved with save_pretrained ('serbench init-encoder' writes a random one)"
        ) from err
    return model.eval(), extractor


def normalize_batch(waveforms: torch.Tensor, sample_lengths: torch.Tensor) -> torch.Tensor:
    """Zero mean and unit variance per waveform over its valid samples, padding kept at zero.

    What ``Wav2Vec2FeatureExtractor`` with ``do_normalize`` does (variance floor
    1e-7), written in torch so that it trains on a GPU and exports to ONNX.

    Args:
        waveforms: ``(batch, samples)``, zero-padded.
        sample_lengths: ``(batch,)`` valid samples per row.

    Returns:
        ``(batch, samples)``.
    """
    mask = (torch.arange(waveforms.shape[1], device=waveforms.device)[None, :] < sample_lengths[:, None]).to(
        waveforms.dtype
    )
    count = mask.sum(dim=1, keepdim=True).clamp(min=1)
    mean = (waveforms * mask).sum(dim=1, keepdim=True) / count
    variance = (((waveforms - mean) * mask) ** 2).sum(dim=1, keepdim=True) / count
    return (waveforms - mean) / torch.sqrt(variance + 1e-7) * mask


def masked_mean(states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean over each row's first ``lengths`` frames: ``(batch, frames, hidden)`` -> ``(batch, hidden)``."""
    mask = (torch.arange(states.shape[1], device=states.device)[None, :] < lengths[:, None]).to(states.dtype)
    return (states * mask[..., None]).sum(dim=1) / mask.sum(dim=1, keepdim=True).clamp(min=1)


def frame_lengths(encoder: torch.nn.Module, sample_lengths: torch.Tensor) -> torch.Tensor:
    """Encoder frames per waveform, from sample counts (the CNN's strides)."""
    return encoder._get_feat_extract_output_lengths(sample_lengths).long()


def describe_upstream(pretrained: str, key: str) -> dict:
    """Load an encoder once and describe it: type, layers, width, parameters, normalisation, random weights.

    Raises:
        EncoderUnavailable: as :func:`load_upstream`.
    """
    model, extractor = load_upstream(pretrained, key)
    return {
        "pretrained": pretrained,
        "model_type": model.config.model_type,
        "num_hidden_layers": model.config.num_hidden_layers,
        "hidden_size": model.config.hidden_size,
        "n_params": sum(p.numel() for p in model.parameters()),
        "normalizes": bool(extractor.do_normalize),
        "random_init": is_random_init(pretrained),
    }


def is_random_init(pretrained: str) -> bool:
    """Whether ``pretrained`` is a folder written by :func:`save_random_upstream`."""
    return (Path(pretrained) / MARKER).is_file()


@torch.no_grad()
def pooled_hidden_states(
    model: torch.nn.Module, extractor: Wav2Vec2FeatureExtractor, waveform: np.ndarray
) -> np.ndarray:
    """Time-mean of every hidden state of one utterance.

    Args:
        model: encoder from :func:`load_upstream`.
        extractor: its feature extractor (normalisation as the encoder expects).
        waveform: ``(samples,)`` at 16 kHz, one utterance (no padding, so no mask is needed).

    Returns:
        ``(layers + 1, hidden)`` float32: the CNN projection's output, then each
        transformer layer's.
    """
    inputs = extractor(waveform, sampling_rate=16000, return_tensors="pt")
    hidden = model(inputs["input_values"], output_hidden_states=True).hidden_states  # layers+1 × (1, frames, hidden)
    return torch.stack(hidden).squeeze(1).mean(dim=1).numpy()  # (layers+1, hidden)
