"""Self-distillation of a wav2vec2 encoder with student exits (Ren et al. 2023, Sec. 2.2).

The teacher is the encoder's last transformer layer, mean-pooled, then two
linear layers (256, classes). A student at inner layer ``a`` feeds that layer's
unpooled output through a block (a 1×1 convolution, an LSTM or a GRU), pools it
and applies its own two linear layers. Dynamic inference runs the encoder only
up to an exit's layer.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from serbench.ssl.upstream import frame_lengths, masked_mean, normalize_batch

BLOCKS = ("conv", "lstm", "gru")
BLOCK_STYLES = ("authors", "plain")


class ExitHead(nn.Module):
    """Block (or none, for the teacher), masked mean pooling, L1 (``head_hidden``), L2 (classes).

    ``forward`` returns ``(embedding (batch, hidden), linear (batch, head_hidden), logits (batch, classes))``:
    the pooled block output H_M (H_N for the teacher), L1's output H_L, and L2's output O.

    Args:
        block: ``"none"`` (teacher), ``"conv"`` (Conv2d with one channel and a 1×1 kernel over the
            (frames, hidden) map, the paper's CNN block), ``"lstm"`` or ``"gru"`` (hidden → hidden).
        hidden: encoder width R (768 for base models).
        n_classes: emotions.
        head_hidden: D_1 (256).
        style: ``"authors"`` (default; the authors' code): the 1×1 convolution without bias, then
            BatchNorm and ReLU (batch statistics include a batch's padded frames, as theirs do); the
            LSTM/GRU followed by LayerNorm and SELU. ``"plain"``: the bare convolution (with bias) or
            recurrent layer, as the paper's text reads.
        inner_relu: a ReLU between L1 and L2 (the authors' heads have none; default ``False``).
    """

    def __init__(
        self,
        block: str,
        hidden: int,
        n_classes: int,
        head_hidden: int = 256,
        style: str = "authors",
        inner_relu: bool = False,
    ):
        super().__init__()
        if block not in ("none", *BLOCKS):
            raise ValueError(f"unknown student block {block!r}; expected one of {BLOCKS}")
        if style not in BLOCK_STYLES:
            raise ValueError(f"unknown block style {style!r}; expected one of {BLOCK_STYLES}")
        self.block_type, self.inner_relu = block, inner_relu
        self.post: nn.Module = nn.Identity()
        if block == "conv" and style == "authors":
            self.block = nn.Sequential(nn.Conv2d(1, 1, kernel_size=1, bias=False), nn.BatchNorm2d(1), nn.ReLU())
        elif block == "conv":
            self.block = nn.Conv2d(1, 1, kernel_size=1)
        elif block in ("lstm", "gru"):
            self.block = (nn.LSTM if block == "lstm" else nn.GRU)(hidden, hidden, batch_first=True)
            if style == "authors":
                self.post = nn.Sequential(nn.LayerNorm(hidden), nn.SELU())
        self.l1 = nn.Linear(hidden, head_hidden)
        self.l2 = nn.Linear(head_hidden, n_classes)

    def forward(self, states: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.block_type == "conv":
            states = self.block(states.unsqueeze(1)).squeeze(1)  # (batch, frames, hidden)
        elif self.block_type in ("lstm", "gru"):
            states = self.post(self.block(states)[0])  # (batch, frames, hidden)
        embedding = masked_mean(states, lengths)
        linear = self.l1(embedding)
        return embedding, linear, self.l2(torch.relu(linear) if self.inner_relu else linear)


def truncate_encoder(encoder: nn.Module, depth: int) -> nn.Module:
    """A view of ``encoder`` that runs only its first ``depth`` transformer layers (weights shared).

    For wav2vec2-style encoders without stable layer norm, its ``last_hidden_state``
    equals the full encoder's ``hidden_states[depth]``.

    Raises:
        ValueError: ``depth`` outside 1..number of layers.
    """
    layers = encoder.encoder.layers
    if not 1 <= depth <= len(layers):
        raise ValueError(f"exit depth {depth} outside 1..{len(layers)} transformer layers")
    view = copy.copy(encoder)
    view._modules = dict(encoder._modules)
    inner = copy.copy(encoder.encoder)
    inner._modules = dict(encoder.encoder._modules)
    inner.layers = nn.ModuleList(list(layers)[:depth])
    view.encoder = inner
    return view


class SelfDistillModel(nn.Module):
    """Teacher (last layer) and students (``exit_layers``) on one encoder.

    ``forward(waveforms (batch, samples), sample_lengths (batch,))`` returns
    ``{"teacher": (H_N, H_L, O), layer: (H_M, H_L, O) ...}``. With ``normalize``
    each waveform is first brought to zero mean and unit variance, as the
    encoder's feature extractor does (wav2vec2-base expects it). ``style`` and
    ``inner_relu`` as in :class:`ExitHead`.
    """

    def __init__(
        self,
        encoder: nn.Module,
        n_classes: int,
        exit_layers: tuple[int, ...],
        block: str,
        head_hidden: int = 256,
        normalize: bool = False,
        style: str = "authors",
        inner_relu: bool = False,
    ):
        super().__init__()
        self.encoder, self.normalize = encoder, normalize
        self.exit_layers = tuple(exit_layers)
        hidden = encoder.config.hidden_size
        self.teacher = ExitHead("none", hidden, n_classes, head_hidden, inner_relu=inner_relu)
        self.students = nn.ModuleDict(
            {str(a): ExitHead(block, hidden, n_classes, head_hidden, style, inner_relu) for a in exit_layers}
        )

    def forward(self, waveforms: torch.Tensor, sample_lengths: torch.Tensor) -> dict:
        if self.normalize:
            waveforms = normalize_batch(waveforms, sample_lengths)
        hidden = self.encoder(waveforms, output_hidden_states=True).hidden_states  # layers+1 × (batch, frames, R)
        lengths = frame_lengths(self.encoder, sample_lengths)
        outputs = {"teacher": self.teacher(hidden[-1], lengths)}
        for layer in self.exit_layers:
            outputs[layer] = self.students[str(layer)](hidden[layer], lengths)
        return outputs


class ExitModel(nn.Module):
    """One exit for deployment: the encoder truncated at the exit's layer, then its head.

    ``forward(waveform (batch, samples)) -> logits (batch, classes)``; the whole
    waveform is valid (no padding). ``normalize`` as in :class:`SelfDistillModel`.
    """

    def __init__(self, encoder: nn.Module, depth: int, head: ExitHead, normalize: bool = False):
        super().__init__()
        self.encoder = truncate_encoder(encoder, depth)
        self.head, self.normalize = head, normalize

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        if self.normalize:
            waveform = normalize_batch(waveform, torch.full((waveform.shape[0],), waveform.shape[1]))
        states = self.encoder(waveform).last_hidden_state
        lengths = torch.full((waveform.shape[0],), states.shape[1], dtype=torch.long)
        return self.head(states, lengths)[2]
