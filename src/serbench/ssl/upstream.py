"""Loading speech encoders (upstreams) by name with transformers, and building random ones from their configs.

An upstream is a hub id (``ntu-spml/distilhubert``, ``openai/whisper-tiny.en``) or a local folder written by
``save_pretrained``; :func:`load_upstream` reads either with ``from_pretrained`` and wraps it in the contract of
:mod:`serbench.ssl.encoders`. Offline, :func:`save_random_upstream` writes a randomly initialised encoder of a
registered architecture to a folder, which then loads through the same path: full size for true sizes and
latencies, small or tiny for tests. Every table says when an upstream's weights are random.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

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
    WhisperConfig,
    WhisperFeatureExtractor,
)

from serbench.device import model_device
from serbench.errors import SerbenchError, UnknownNameError
from serbench.progress import progress
from serbench.settings.names import EncoderArchitecture
from serbench.settings.ssl import upstream_name
from serbench.ssl.encoders import SAMPLE_RATE, Upstream, Wav2Vec2Upstream, WhisperUpstream, masked_mean
from serbench.ssl.hub import HINT, looks_local

WHISPER_TINY = dict(d_model=384, encoder_layers=4, decoder_layers=4, encoder_attention_heads=6)
WHISPER_TINY.update(decoder_attention_heads=6, encoder_ffn_dim=1536, decoder_ffn_dim=1536)
# Full-size configs of the registered encoders (the published architectures).
ARCHITECTURES: dict[EncoderArchitecture, Callable[..., PretrainedConfig]] = {
    "distilhubert": lambda **kw: HubertConfig(
        **{"num_hidden_layers": 2, **kw}
    ),  # Chang et al. 2022: 2 layers of HuBERT-base
    "hubert-base": HubertConfig,
    "wav2vec2-base": Wav2Vec2Config,
    "wavlm-base": WavLMConfig,
    "whisper-tiny": lambda **kw: WhisperConfig(**{**WHISPER_TINY, **kw}),  # Radford et al. 2022, tiny
}
# Whether each wav2vec2-family feature extractor normalises the waveform (zero mean, unit variance).
NORMALIZES: dict[str, bool] = {"distilhubert": False, "hubert-base": False, "wav2vec2-base": True, "wavlm-base": False}
_W2V2_TINY = dict(conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
_W2V2_SMALL = dict(conv_dim=(32,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
# Smaller shapes of each family, for tests and CPUs: same layer types, narrow layers (small keeps full depth).
SIZES: dict[str, dict[str, dict]] = {
    "tiny": {
        "wav2vec2": dict(hidden_size=32, num_attention_heads=2, intermediate_size=64, **_W2V2_TINY),
        "whisper": dict(d_model=32, encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64),
    },
    "small": {
        "wav2vec2": dict(hidden_size=64, num_attention_heads=2, intermediate_size=128, **_W2V2_SMALL),
        "whisper": dict(d_model=64, encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=128),
    },
    "full": {"wav2vec2": {}, "whisper": {}},
}
MARKER = "serbench_init.json"


class UpstreamChoice(NamedTuple):
    """The upstream a step runs, as both SSL studies hand it over: ``pretrained``, the hub id or local folder
    :func:`load_upstream` opens, and ``whisper_input``, how a Whisper encoder takes a clip (``clip`` or ``padded``)."""

    pretrained: str
    whisper_input: str = "clip"

    @property
    def name(self) -> str:
        """Its name in paths and table rows (:func:`serbench.settings.ssl.upstream_name`)."""
        return upstream_name(self.pretrained)


def upstream_record(pretrained: str) -> dict:
    """What a step's record says of its upstream: ``upstream`` (its name in paths and rows), ``pretrained`` and
    ``random_init`` (whether its weights are random: tables say so)."""
    return {"upstream": upstream_name(pretrained), "pretrained": pretrained, "random_init": is_random_init(pretrained)}


class EncoderUnavailable(SerbenchError, RuntimeError):
    """The configured encoder cannot be loaded; the message names the config key to set."""


def build_config(architecture: str, size: str = "full", num_hidden_layers: int | None = None) -> PretrainedConfig:
    """Config of a registered architecture: ``size`` ``"full"``, ``"small"`` (full depth, narrow) or ``"tiny"``.

    Raises:
        KeyError: unknown architecture or size (the message lists the registered ones).
    """
    if architecture not in ARCHITECTURES or size not in SIZES:
        raise UnknownNameError(
            f"unknown encoder {architecture!r} of size {size!r}; registered: {sorted(ARCHITECTURES)} × {sorted(SIZES)}"
        )
    family = "whisper" if architecture.startswith("whisper") else "wav2vec2"
    overrides = dict(SIZES[size][family])
    if num_hidden_layers is not None:
        overrides["encoder_layers" if family == "whisper" else "num_hidden_layers"] = num_hidden_layers
    return ARCHITECTURES[architecture](**overrides)


def save_random_upstream(
    architecture: str, out_dir: str | Path, size: str = "full", seed: int = 0, num_hidden_layers: int | None = None
) -> Path:
    """Write a randomly initialised encoder and its feature extractor with ``save_pretrained``.

    A marker file records that the weights are random, so that every table built from this encoder can say so.

    Raises:
        KeyError: as :func:`build_config`.
    """
    torch.manual_seed(seed)
    config = build_config(architecture, size, num_hidden_layers)
    model = AutoModel.from_config(config)
    out = Path(out_dir)
    model.save_pretrained(out)
    if config.model_type == "whisper":
        extractor = WhisperFeatureExtractor(feature_size=config.num_mel_bins)
    else:
        extractor = Wav2Vec2FeatureExtractor(
            feature_size=1, sampling_rate=SAMPLE_RATE, padding_value=0.0, do_normalize=NORMALIZES[architecture]
        )
    extractor.save_pretrained(out)
    (out / MARKER).write_text(
        json.dumps({"architecture": architecture, "size": size, "seed": seed, "random_init": True})
    )
    return out


def wrap_upstream(model: torch.nn.Module, extractor, whisper_input: str = "clip") -> Upstream:
    """The :class:`~serbench.ssl.encoders.Upstream` of a transformers model (Whisper: its encoder) and extractor."""
    if model.config.model_type == "whisper":
        encoder = model.encoder if hasattr(model, "decoder") else model
        return WhisperUpstream(
            encoder, extractor.mel_filters, extractor.n_fft, extractor.hop_length, whisper_input
        ).eval()
    return Wav2Vec2Upstream(model, bool(extractor.do_normalize)).eval()


def load_upstream(pretrained: str, key: str = "distilhubert.upstreams", whisper_input: str = "clip") -> Upstream:
    """Load an encoder from a hub id or local folder, in eval mode, behind the upstream contract.

    Args:
        pretrained: hub id or local ``save_pretrained`` folder.
        key: the config key that named it, for the error message.
        whisper_input: ``"clip"`` or ``"pad30"`` for Whisper encoders (``waveform.whisper_input``).

    Raises:
        EncoderUnavailable: neither reachable on a hub nor a local folder; the message names ``key``.
    """
    hint = HINT.format(key=key)
    if looks_local(pretrained) and not Path(pretrained).expanduser().is_dir():
        raise EncoderUnavailable(f"speech encoder folder {pretrained!r} not found; {hint}")
    try:
        model = AutoModel.from_pretrained(pretrained)
        extractor = AutoFeatureExtractor.from_pretrained(pretrained)
    except (OSError, ValueError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise EncoderUnavailable(f"cannot load speech encoder {pretrained!r} ({reason}); {hint}") from err
    return wrap_upstream(model, extractor, whisper_input)


def random_upstream(architecture: str, size: str = "full", whisper_input: str = "clip") -> Upstream:
    """A randomly initialised upstream of a registered architecture, in memory (sizes and latencies)."""
    config = build_config(architecture, size)
    model = AutoModel.from_config(config)
    if config.model_type == "whisper":
        return wrap_upstream(model, WhisperFeatureExtractor(feature_size=config.num_mel_bins), whisper_input)
    return wrap_upstream(model, Wav2Vec2FeatureExtractor(do_normalize=NORMALIZES[architecture]))


def describe_upstream(pretrained: str, key: str, whisper_input: str = "clip") -> dict:
    """Load an encoder once and describe it: name, type, layers, width, parameters, random weights.

    Raises:
        EncoderUnavailable: as :func:`load_upstream`.
    """
    upstream = load_upstream(pretrained, key, whisper_input)
    return {
        "upstream": upstream_name(pretrained),
        "pretrained": pretrained,
        "model_type": upstream.model.config.model_type,
        "num_hidden_layers": upstream.num_layers,
        "hidden_size": upstream.hidden_size,
        "n_params": sum(p.numel() for p in upstream.model.parameters()),
        "random_init": is_random_init(pretrained),
    }


def is_random_init(pretrained: str) -> bool:
    """Whether ``pretrained`` is a folder written by :func:`save_random_upstream`."""
    return (Path(pretrained) / MARKER).is_file()


@torch.no_grad()
def pooled_hidden_states(upstream: Upstream, waveform: np.ndarray) -> np.ndarray:
    """Time-mean of every hidden state of one clip: ``(samples,)`` at 16 kHz -> ``(layers + 1, hidden)`` float32,
    the input projection's output, then each transformer layer's."""
    return pooled_batches(upstream, [waveform])[0]


@torch.no_grad()
def pooled_batches(upstream: Upstream, waveforms: list[np.ndarray], batch_size: int = 16) -> np.ndarray:
    """:func:`pooled_hidden_states` of many clips, encoded in batches of similar length (the upstream's contract
    makes a clip's states independent of its batch): ``(N, layers + 1, hidden)`` float32, in input order, encoded
    on the upstream's device."""
    order = np.argsort([len(w) for w in waveforms], kind="stable")
    device = model_device(upstream)
    pooled = np.zeros((len(waveforms), upstream.num_layers + 1, upstream.hidden_size), dtype=np.float32)
    for start in progress(range(0, len(order), batch_size), "encode", "batch"):
        chosen = order[start : start + batch_size]
        lengths = torch.tensor([len(waveforms[i]) for i in chosen])
        batch = torch.zeros(len(chosen), int(lengths.max()))
        for row, i in enumerate(chosen):
            batch[row, : len(waveforms[i])] = torch.from_numpy(np.asarray(waveforms[i], dtype=np.float32))
        hidden, frames = upstream(batch.to(device), lengths.to(device))
        pooled[chosen] = torch.stack([masked_mean(h, frames) for h in hidden], dim=1).cpu().numpy()
    return pooled
