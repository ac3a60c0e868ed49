"""Self-distillation of a speech encoder with student exits (Ren et al. 2023, Sec. 2.2).

The teacher is the encoder's last transformer layer, mean-pooled, then two
linear layers (256, classes). A student at inner layer ``a`` feeds that layer's
unpooled output through a block (a 1×1 convolution, an LSTM or a GRU), pools it
and applies its own two linear layers. Dynamic inference runs the encoder only
up to an exit's layer. Any upstream of :mod:`serbench.ssl.encoders` serves.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from serbench.ssl.encoders import Upstream, masked_mean

BLOCKS = ("conv", "lstm", "gru")
BLOCK_STYLES = ("authors", "plain")
INITS = ("he_uniform", "pytorch")


def he_uniform(layer: nn.Module) -> None:
    """The authors' initialisation of a linear or convolutional layer: weights uniform in ``±sqrt(3)·sqrt(2 / fan_in)``
    (He et al. 2015), bias zero. A BatchNorm starts at weight 1, bias 0."""
    if isinstance(layer, nn.BatchNorm2d):
        nn.init.ones_(layer.weight)
        nn.init.zeros_(layer.bias)
        return
    fan_in = layer.weight[0].numel()
    bound = math.sqrt(3.0) * math.sqrt(2.0 / fan_in)
    nn.init.uniform_(layer.weight, -bound, bound)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


class ExitOutput(NamedTuple):
    """What an :class:`ExitHead` gives: the pooled block output H_M (H_N for the teacher) ``(batch, hidden)``, L1's
    output H_L ``(batch, head_hidden)`` and L2's output O, the logits ``(batch, classes)`` (Ren et al. 2023, Fig. 1)."""

    embedding: torch.Tensor
    linear: torch.Tensor
    logits: torch.Tensor


class ExitHead(nn.Module):
    """Block (or none, for the teacher), masked mean pooling, L1 (``head_hidden``), L2 (classes).

    ``forward`` returns an :class:`ExitOutput`.

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
        init: ``"he_uniform"`` (default; the authors' :func:`he_uniform` of L1, L2 and the convolution block) or
            ``"pytorch"`` (PyTorch's defaults). Recurrent blocks keep PyTorch's in both, as the authors' do.

    Raises:
        ValueError: an unknown block, style or init.
    """

    def __init__(
        self,
        block: str,
        hidden: int,
        n_classes: int,
        head_hidden: int = 256,
        style: str = "authors",
        inner_relu: bool = False,
        init: str = "he_uniform",
    ):
        super().__init__()
        if block not in ("none", *BLOCKS):
            raise ValueError(f"unknown student block {block!r}; expected one of {BLOCKS}")
        if style not in BLOCK_STYLES:
            raise ValueError(f"unknown block style {style!r}; expected one of {BLOCK_STYLES}")
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; expected one of {INITS}")
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
        if init == "he_uniform":
            for layer in (self.l1, self.l2, *(self.block.modules() if block == "conv" else ())):
                if isinstance(layer, (nn.Linear, nn.Conv2d, nn.BatchNorm2d)):
                    he_uniform(layer)

    def forward(self, states: torch.Tensor, lengths: torch.Tensor) -> ExitOutput:
        if self.block_type == "conv":
            states = self._conv_block(states)  # (batch, frames, hidden)
        elif self.block_type in ("lstm", "gru"):
            states = self.post(self.block(states)[0])  # (batch, frames, hidden)
        embedding = masked_mean(states, lengths)
        linear = self.l1(embedding)
        return ExitOutput(embedding, linear, self.l2(torch.relu(linear) if self.inner_relu else linear))

    def _conv_block(self, states: torch.Tensor) -> torch.Tensor:
        """The block on ``(batch, frames, hidden)``. Its 1×1 convolution with one channel is the scalar affine map
        ``w·x + b``, computed as such: the same parameters, ten times faster than oneDNN's kernel for this shape."""
        conv, rest = (self.block[0], self.block[1:]) if isinstance(self.block, nn.Sequential) else (self.block, None)
        states = states * conv.weight.reshape(()) + (0.0 if conv.bias is None else conv.bias)
        return states if rest is None else rest(states.unsqueeze(1)).squeeze(1)


class SelfDistillModel(nn.Module):
    """Teacher (layer ``depth``) and students (``exit_layers``) on one upstream.

    ``forward(waveforms (batch, samples), sample_lengths (batch,))`` returns
    ``{"teacher": (H_N, H_L, O), layer: (H_M, H_L, O) ...}``; :meth:`heads` computes the same from hidden
    states already at hand (a frozen encoder's cache). ``style``, ``inner_relu`` and ``init`` as in
    :class:`ExitHead`.

    Args:
        upstream: the encoder.
        n_classes: emotions.
        exit_layers: inner layers with a student (none for a fine-tuned-only baseline).
        block: the students' block.
        depth: the teacher's layer (default: the upstream's last; a baseline's depth otherwise).
    """

    def __init__(
        self,
        upstream: Upstream,
        n_classes: int,
        exit_layers: tuple[int, ...],
        block: str,
        head_hidden: int = 256,
        style: str = "authors",
        inner_relu: bool = False,
        init: str = "he_uniform",
        depth: int | None = None,
    ):
        super().__init__()
        self.upstream, self.depth = upstream, depth or upstream.num_layers
        self.exit_layers = tuple(exit_layers)
        hidden = upstream.hidden_size
        self.teacher = ExitHead("none", hidden, n_classes, head_hidden, inner_relu=inner_relu, init=init)
        self.students = nn.ModuleDict(
            {str(a): ExitHead(block, hidden, n_classes, head_hidden, style, inner_relu, init) for a in exit_layers}
        )

    @property
    def layers(self) -> tuple[int, ...]:
        """The hidden states the heads read: the exits' and the teacher's."""
        return (*self.exit_layers, self.depth)

    def forward(self, waveforms: torch.Tensor, sample_lengths: torch.Tensor) -> dict:
        hidden, frames = self.upstream(waveforms, sample_lengths, depth=self.depth)  # depth+1 × (batch, frames, R)
        return self.heads({layer: hidden[layer] for layer in self.layers}, frames)

    def heads(self, states: dict[int, torch.Tensor], frames: torch.Tensor) -> dict:
        """Outputs from hidden states ``{layer: (batch, frames, R)}`` with valid ``frames`` ``(batch,)``."""
        outputs = {"teacher": self.teacher(states[self.depth], frames)}
        for layer in self.exit_layers:
            outputs[layer] = self.students[str(layer)](states[layer], frames)
        return outputs


class ExitModel(nn.Module):
    """One exit for deployment: the upstream run to the exit's layer only, then its head.

    ``forward(waveform (batch, samples)) -> logits (batch, classes)``; the whole waveform is valid (no padding).
    """

    def __init__(self, upstream: Upstream, depth: int, head: ExitHead):
        super().__init__()
        self.upstream, self.depth, self.head = upstream, depth, head

    @property
    def n_params(self) -> int:
        """Parameters the exit runs: the upstream's without its layers past ``depth``, and the head's."""
        skipped = self.upstream.transformer_layers()[self.depth :]
        return sum(p.numel() for p in self.parameters()) - sum(p.numel() for p in skipped.parameters())

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        lengths = torch.full((waveform.shape[0],), waveform.shape[1])
        hidden, frames = self.upstream(waveform, lengths, depth=self.depth)
        return self.head(hidden[-1], frames).logits


class AllExitsModel(nn.Module):
    """Every exit and the teacher of a :class:`SelfDistillModel` in one graph, sharing the encoder's layers: the
    logits each :class:`ExitModel` would give, stacked ``(exits + 1, batch, classes)``, exits in layer order, the
    teacher last. One run scores every exit (int8 quantization of a shared tensor is the same in either graph)."""

    def __init__(self, model: SelfDistillModel):
        super().__init__()
        self.model = model

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        lengths = torch.full((waveform.shape[0],), waveform.shape[1])
        outputs = self.model(waveform, lengths)
        return torch.stack([outputs[a].logits for a in self.model.exit_layers] + [outputs["teacher"].logits])
