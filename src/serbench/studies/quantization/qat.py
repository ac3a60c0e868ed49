"""Quantization-aware fine-tuning: a few epochs of training through the quantizer (straight-through estimator).

Beyond Shinde et al. 2024, which quantize after training only. Starting from
the trained float32 model, the forward pass uses fake-quantized weights for
the chosen layers (same quantizer and widths as the packed file), the backward
pass treats quantization as the identity (Bengio et al. 2013; Courbariaux et
al. 2015), and the float weights are updated. The epoch kept is the one whose
quantized model scores best on the validation subset (the early-stopping one,
never the test split); epoch 0, the post-training quantized model, is a
candidate too. With no layer quantized the same loop is the control of QAT:
the float32 model fine-tuned exactly as long (``fp32+ft``), so that a QAT gain
is measured against more training without a quantizer.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.func import functional_call

from serbench.dataset import Subset
from serbench.lowbit.layers import quantization_layers
from serbench.lowbit.quantizers import fake_quantize_model, straight_through
from serbench.settings import QATSettings
from serbench.studies.quantization.models import predict
from serbench.studies.quantization.training import epoch_runner
from serbench.training import fit


class QuantizedForward(nn.Module):
    """``model`` whose forward pass reads straight-through fake-quantized weights for the layers in ``bits``."""

    def __init__(self, model: nn.Module, bits: dict[str, int], quantizer: str):
        super().__init__()
        self.model, self.quantizer = model, quantizer
        layers = quantization_layers(model)
        self.widths = {name: width for layer, width in bits.items() for name in layers[layer]}

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        params = {
            name: straight_through(p, self.widths[name], self.quantizer) if name in self.widths else p
            for name, p in self.model.named_parameters()
        }
        return functional_call(self.model, {**params, **dict(self.model.named_buffers())}, (features, lengths))


def quantization_aware_training(
    model: nn.Module,
    bits: dict[str, int],
    quantizer: str,
    train: Subset,
    validation: Subset,
    cfg: QATSettings,
    batch_size: int,
    seed: int,
    device: torch.device | str = "cpu",
) -> tuple[nn.Module, dict]:
    """Fine-tune a copy of ``model`` on ``device`` through ``quantizer`` at ``bits``; returns it (float weights, on
    the CPU) and the history.

    Args:
        model: the trained float32 model (left unchanged).
        bits: width per layer to train for (a layer left out stays float32; ``{}``: the fine-tuning control).
        quantizer: a registered quantizer.
        train: the training subset.
        validation: the early-stopping validation subset; it chooses the epoch.
        cfg: epochs, patience and learning rate.
        batch_size: utterances per step.
        seed: seeds shuffling and dropout.

    Returns:
        ``(model, history)``: packing the model with ``quantizer`` and ``bits`` gives the selected epoch's
        quantized network (epoch 0: ``model`` as it was); history as :func:`serbench.training.fit`'s.
    """
    torch.manual_seed(seed)
    tuned = copy.deepcopy(model).to(device)
    quantized = QuantizedForward(tuned, bits, quantizer)
    optimizer = torch.optim.Adam(tuned.parameters(), lr=cfg.learning_rate)
    epoch = epoch_runner(quantized, train, batch_size, seed, optimizer)

    def validate() -> float:
        predicted = predict(fake_quantize_model(tuned, bits, quantizer), validation.features, validation.lengths)
        return float((predicted == validation.labels).mean())

    history = fit(tuned, epoch, validate, cfg.epochs, cfg.patience, score_start=True)
    return tuned.cpu(), history
