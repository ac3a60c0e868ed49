"""Settings of the quantization study's model families: each architecture's size, and the frame sequences the
frame-level families read."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from serbench.settings.base import Probability, Section


class MLPSettings(Section):
    """The paper's MLP (Sec. 2.1): hidden 256/512/64, ReLU, dropout 0.1."""

    hidden: tuple[Annotated[int, Field(ge=1)], ...] = Field((256, 512, 64), min_length=1)
    dropout: Probability = 0.1


class LSTMSettings(Section):
    """One LSTM layer; its last valid state classifies."""

    hidden: int = Field(128, ge=1)
    dropout: Probability = 0.1


class AttentionGRUSettings(Section):
    """A GRU layer pooled by additive attention."""

    hidden: int = Field(128, ge=1)
    attention_dim: int = Field(64, ge=1)
    dropout: Probability = 0.1


class CNN1DSettings(Section):
    """Two 1-D convolutions over frames, masked mean pooling."""

    channels: int = Field(96, ge=1)
    kernel_size: int = Field(5, ge=1)
    dropout: Probability = 0.1


class SequenceSettings(Section):
    """Frame-level inputs of the sequence families."""

    max_frames: int = Field(256, ge=1, description="sequences are cut to this many frames (256 × 512 / 16 kHz = 8.2 s)")
