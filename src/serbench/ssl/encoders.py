"""Speech encoders behind one contract: waveforms in, every layer's hidden states out, padding-invariant.

An *upstream* (s3prl's word) takes zero-padded 16 kHz waveforms ``(batch, samples)`` with their lengths and
returns the hidden states of its first ``depth`` transformer layers, each ``(batch, frames, hidden)``, with the valid
frames per clip. A clip's states do not depend on what else is in its batch:

- :class:`Wav2Vec2Upstream` (wav2vec2, HuBERT, DistilHuBERT, WavLM): raw waveforms. Encoders whose CNN ends in
  layer norm take an attention mask; those with group norm in the CNN (the base models) normalise over the whole
  time axis, so padding would change every frame: their clips run one at a time.
- :class:`WhisperUpstream` (Whisper encoders): 80-bin log-mel spectrograms (Radford et al. 2022) computed in torch
  with the checkpoint's own mel filters, per clip, so that the deployed ONNX graph takes waveforms too. Whisper was
  trained on 30-s inputs; ``input_mode="clip"`` (default) cuts the positional embeddings to the clip's frames and
  masks padded frames in attention and after the first convolution, ``"pad30"`` pads every clip to 30 s as the
  feature extractor does and keeps the clip's frames of the output (15x the compute for a 2-s clip).
"""

from __future__ import annotations

import torch
from torch import nn

SAMPLE_RATE = 16000  # Hz, what every registered upstream was pretrained on
WHISPER_INPUT_MODES = ("clip", "pad30")


def masked_mean(states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean over each row's first ``lengths`` frames: ``(batch, frames, hidden)`` -> ``(batch, hidden)``."""
    mask = (torch.arange(states.shape[1], device=states.device)[None, :] < lengths[:, None]).to(states.dtype)
    return (states * mask[..., None]).sum(dim=1) / mask.sum(dim=1, keepdim=True).clamp(min=1)


def normalize_batch(waveforms: torch.Tensor, sample_lengths: torch.Tensor) -> torch.Tensor:
    """Zero mean and unit variance per waveform over its valid samples, padding kept at zero.

    What ``Wav2Vec2FeatureExtractor`` with ``do_normalize`` does (variance floor 1e-7), in torch so that it
    trains on a GPU and exports to ONNX. ``waveforms`` ``(batch, samples)``, ``sample_lengths`` ``(batch,)``.
    """
    mask = (torch.arange(waveforms.shape[1], device=waveforms.device)[None, :] < sample_lengths[:, None]).to(
        waveforms.dtype
    )
    count = mask.sum(dim=1, keepdim=True).clamp(min=1)
    mean = (waveforms * mask).sum(dim=1, keepdim=True) / count
    variance = (((waveforms - mean) * mask) ** 2).sum(dim=1, keepdim=True) / count
    return (waveforms - mean) / torch.sqrt(variance + 1e-7) * mask


def _padding_mask(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """``(batch, frames)`` bool, True on valid frames."""
    return torch.arange(frames, device=lengths.device)[None, :] < lengths[:, None]


class LogMel(nn.Module):
    """Whisper's log-mel spectrogram of one clip, as ``WhisperFeatureExtractor`` computes it: Hann STFT (centred,
    reflect-padded), the last frame dropped, power through the checkpoint's mel filters, ``log10`` floored at 1e-10,
    clamped to 8 below the clip's maximum, then ``(x + 4) / 4`` (Radford et al. 2022).

    ``forward(waveform (samples,)) -> (mel_bins, samples // hop_length)``. In an ONNX export the STFT is a strided
    convolution with the windowed DFT basis (ONNX Runtime's STFT op is 15x slower); the module's nodes are named
    ``/log_mel/``, which every int8 scheme leaves in float (8-bit grids cannot hold a power spectrum's range).

    Args:
        mel_filters: ``(n_fft // 2 + 1, mel_bins)`` from the checkpoint's feature extractor.
        n_fft: STFT size (samples).
        hop_length: STFT hop (samples).
    """

    def __init__(self, mel_filters, n_fft: int, hop_length: int):
        super().__init__()
        self.n_fft, self.hop_length = n_fft, hop_length
        self.register_buffer("mel_filters", torch.as_tensor(mel_filters, dtype=torch.float32).T.contiguous())
        window = torch.hann_window(n_fft)
        self.register_buffer("window", window)
        angle = 2 * torch.pi * torch.outer(torch.arange(n_fft // 2 + 1), torch.arange(n_fft)).double() / n_fft
        basis = torch.cat([torch.cos(angle), -torch.sin(angle)]) * window.double()
        self.register_buffer("basis", basis.float()[:, None, :])  # (2 (n_fft // 2 + 1), 1, n_fft)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():
            padded = nn.functional.pad(waveform[None, None], (self.n_fft // 2, self.n_fft // 2), mode="reflect")
            real, imaginary = nn.functional.conv1d(padded, self.basis, stride=self.hop_length)[0].chunk(2)
            power = (real**2 + imaginary**2)[:, :-1]
        else:
            stft = torch.stft(waveform, self.n_fft, self.hop_length, window=self.window, return_complex=True)
            power = stft[..., :-1].abs() ** 2
        log_spec = torch.clamp(self.mel_filters @ power, min=1e-10).log10()
        return (torch.maximum(log_spec, log_spec.max() - 8.0) + 4.0) / 4.0


class Upstream(nn.Module):
    """The contract every encoder meets (see the module docstring).

    Attributes:
        model: the transformers encoder.
        num_layers: transformer layers.
        hidden_size: width of every hidden state.
        layerdrop: LayerDrop probability in training (the checkpoint's unless set).
    """

    model: nn.Module
    num_layers: int
    hidden_size: int

    def front_end(self) -> nn.Module:
        """The convolutional front-end, frozen when the encoder is fine-tuned."""
        raise NotImplementedError

    def transformer_layers(self) -> nn.ModuleList:
        """The transformer layers, first to last."""
        raise NotImplementedError

    def forward(
        self, waveforms: torch.Tensor, sample_lengths: torch.Tensor, depth: int | None = None
    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Hidden states of the input projection and of the first ``depth`` layers (default: all).

        Args:
            waveforms: ``(batch, samples)`` at 16 kHz, zero-padded.
            sample_lengths: ``(batch,)`` valid samples per clip.
            depth: transformer layers to run, 1..``num_layers``.

        Returns:
            ``depth + 1`` tensors ``(batch, frames, hidden)`` (frames past a clip's length are padding), and the
            valid frames per clip ``(batch,)``.

        Raises:
            ValueError: ``depth`` outside 1..``num_layers``.
        """
        depth = self.num_layers if depth is None else depth
        if not 1 <= depth <= self.num_layers:
            raise ValueError(f"exit depth {depth} outside 1..{self.num_layers} transformer layers")
        return self._encode(waveforms, sample_lengths, depth)

    def _encode(self, waveforms, sample_lengths, depth):
        raise NotImplementedError


class Wav2Vec2Upstream(Upstream):
    """wav2vec2-family encoders (wav2vec2, HuBERT, DistilHuBERT, WavLM) on raw waveforms.

    Args:
        model: a transformers ``Wav2Vec2Model``, ``HubertModel`` or ``WavLMModel``.
        normalize: zero mean and unit variance per clip first (the feature extractor's ``do_normalize``).
    """

    def __init__(self, model: nn.Module, normalize: bool):
        super().__init__()
        self.model, self.normalize = model, normalize
        self.num_layers, self.hidden_size = model.config.num_hidden_layers, model.config.hidden_size
        self.masks = model.config.feat_extract_norm == "layer"  # group norm spans the padded time axis
        self.layerdrop, model.config.layerdrop = model.config.layerdrop, 0.0  # applied here, keeping every state

    def front_end(self) -> nn.Module:
        return self.model.feature_extractor

    def transformer_layers(self) -> nn.ModuleList:
        return self.model.encoder.layers

    def _encode(self, waveforms, sample_lengths, depth):
        if self.normalize:
            waveforms = normalize_batch(waveforms, sample_lengths)
        frame_lengths = self.model._get_feat_extract_output_lengths(sample_lengths).long()
        if self.masks or waveforms.shape[0] == 1:
            mask = _padding_mask(sample_lengths, waveforms.shape[1]).long() if self.masks else None
            return self._layers(waveforms, mask, depth), frame_lengths
        clips = [self._layers(w[None, : int(n)], None, depth) for w, n in zip(waveforms, sample_lengths)]
        frames = int(frame_lengths.max())
        padded = [
            torch.cat([nn.functional.pad(c[i], (0, 0, 0, frames - c[i].shape[1])) for c in clips])
            for i in range(depth + 1)
        ]
        return padded, frame_lengths

    def _layers(self, waveforms, mask, depth):
        """The input projection's state and the first ``depth`` layers' outputs, running only those layers
        (weights shared), read by hooks on the layers; in stable-layer-norm encoders (the large ones) the deepest
        state is after the final layer norm, as transformers returns it. LayerDrop (training only) skips a layer by
        passing its input on as its output."""
        encoder = self.model.encoder
        kept = encoder.layers
        run = [
            i for i in range(depth) if not (self.training and self.layerdrop > 0 and torch.rand([]) < self.layerdrop)
        ]
        chosen = [kept[i] for i in run] or [kept[0]]  # transformers needs one layer to run
        inputs, outputs = [], []
        hooks = [chosen[0].register_forward_pre_hook(lambda _, args: inputs.append(args[0]))]
        hooks += [layer.register_forward_hook(lambda *io: outputs.append(_first(io[2]))) for layer in chosen]
        encoder.layers = nn.ModuleList(chosen)
        try:
            last = self.model(waveforms, attention_mask=mask).last_hidden_state
        finally:
            encoder.layers = kept
            for hook in hooks:
                hook.remove()
        if run and run[-1] == depth - 1:
            outputs[-1] = last
        hidden, produced = [inputs[0]], iter(outputs)
        for i in range(depth):
            hidden.append(next(produced) if i in run else hidden[-1])
        return hidden


def _first(output):
    """A layer's hidden state from its output (a tensor, or a tuple led by it)."""
    return output[0] if isinstance(output, tuple) else output


class WhisperUpstream(Upstream):
    """A Whisper encoder on :class:`LogMel` spectrograms computed in torch (see the module docstring).

    Args:
        model: a transformers ``WhisperEncoder``.
        mel_filters: ``(n_fft // 2 + 1, mel_bins)`` from the checkpoint's feature extractor.
        n_fft: STFT size (samples).
        hop_length: STFT hop (samples).
        input_mode: ``"clip"`` or ``"pad30"``.

    Raises:
        ValueError: an unknown ``input_mode``.
    """

    def __init__(self, model: nn.Module, mel_filters, n_fft: int, hop_length: int, input_mode: str = "clip"):
        super().__init__()
        if input_mode not in WHISPER_INPUT_MODES:
            raise ValueError(f"unknown whisper input mode {input_mode!r}; expected one of {WHISPER_INPUT_MODES}")
        self.model, self.input_mode, self.n_fft, self.hop_length = model, input_mode, n_fft, hop_length
        self.num_layers, self.hidden_size = model.config.encoder_layers, model.config.d_model
        self.layerdrop = model.config.encoder_layerdrop
        self.log_mel = LogMel(mel_filters, n_fft, hop_length)
        self.max_samples = model.config.max_source_positions * 2 * hop_length  # 30 s

    def front_end(self) -> nn.Module:
        return nn.ModuleList([self.model.conv1, self.model.conv2])

    def transformer_layers(self) -> nn.ModuleList:
        return self.model.layers

    def _encode(self, waveforms, sample_lengths, depth):
        mel_frames = sample_lengths // self.hop_length
        frame_lengths = (mel_frames + 1) // 2
        if self.input_mode == "pad30":
            clips = [
                nn.functional.pad(w[: int(n)], (0, self.max_samples - int(n)))
                for w, n in zip(waveforms, sample_lengths)
            ]
            mel = torch.stack([self.log_mel(c) for c in clips])  # (batch, mel_bins, 3000)
            hidden = self._layers(mel, None, None, depth)
            return [h[:, : int(frame_lengths.max())] for h in hidden], frame_lengths
        if waveforms.shape[0] == 1:
            mel = self.log_mel(waveforms[0])[None]
            return self._layers(mel, None, None, depth), frame_lengths
        width = int(mel_frames.max())
        mel = torch.stack(
            [
                nn.functional.pad(self.log_mel(w[: int(n)]), (0, width - int(m)))
                for w, n, m in zip(waveforms, sample_lengths, mel_frames)
            ]
        )
        return self._layers(mel, mel_frames, frame_lengths, depth), frame_lengths

    def _layers(self, mel, mel_frames, frame_lengths, depth):
        """Convolutions, positional embeddings cut to the frames, the first ``depth`` layers; masks when padded."""
        encoder = self.model
        states = nn.functional.gelu(encoder.conv1(mel))
        if mel_frames is not None:  # the second convolution reads one frame past the end: keep it zero
            states = states * _padding_mask(mel_frames, states.shape[2])[:, None, :].to(states.dtype)
        states = nn.functional.gelu(encoder.conv2(states)).permute(0, 2, 1)
        states = states + encoder.embed_positions.weight[: states.shape[1]]
        states = nn.functional.dropout(states, p=encoder.dropout, training=self.training)
        mask = None
        if frame_lengths is not None:
            valid = _padding_mask(frame_lengths, states.shape[1])
            mask = torch.zeros(valid.shape, dtype=states.dtype, device=states.device)
            mask = mask.masked_fill(~valid, torch.finfo(states.dtype).min)[:, None, None, :]
        hidden = [states]
        for layer in encoder.layers[:depth]:
            if not (self.training and self.layerdrop > 0 and torch.rand([]) < self.layerdrop):
                states = layer(states, mask)
            hidden.append(states)
        if depth == self.num_layers:
            hidden[-1] = encoder.layer_norm(states)
        return hidden
