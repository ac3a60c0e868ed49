"""Scores of width assignments of one trained model on one subset: what every search-based allocator and the
allocator curves compare, one path for both (:mod:`.variants`, :mod:`.curves`)."""

from __future__ import annotations

import torch
from torch import nn

from serbench.dataset import Subset
from serbench.lowbit.quantizers import fake_quantize_model
from serbench.metrics import weighted_accuracy
from serbench.studies.quantization.models import logits


class AssignmentScores:
    """``model`` fake-quantized by ``quantizer`` at an assignment (layer -> bits) and run on ``subset`` on
    ``device``; each distinct assignment's logits are computed once. ``cache`` holds the model's codes per layer and
    width (:func:`serbench.lowbit.quantizers.cached_codes`), shared with whoever packs the model afterwards."""

    def __init__(
        self,
        model: nn.Module,
        subset: Subset,
        quantizer: str,
        cache: dict | None = None,
        device: torch.device | str | None = None,
    ):
        self.model, self.subset, self.quantizer, self.device = model, subset, quantizer, device
        self.cache = {} if cache is None else cache
        self._logits: dict[tuple, torch.Tensor] = {}
        self._labels = torch.as_tensor(subset.labels)

    def logits(self, bits: dict[str, int]) -> torch.Tensor:
        """Logits ``(utterances, classes)`` on the CPU."""
        key = tuple(sorted(bits.items()))
        if key not in self._logits:
            quantized = fake_quantize_model(self.model, bits, self.quantizer, self.cache)
            self._logits[key] = logits(quantized, self.subset.features, self.subset.lengths, device=self.device).cpu()
        return self._logits[key]

    def accuracy(self, bits: dict[str, int]) -> float:
        """Weighted accuracy (WA): the paper's search signal (Shinde et al. 2024, Sec. 2.2.2)."""
        return weighted_accuracy(self.subset.labels, self.logits(bits).argmax(dim=1).numpy())

    def log_likelihood(self, bits: dict[str, int]) -> float:
        """Mean log-probability of the true class (minus the cross-entropy loss): a smooth search signal."""
        return -float(nn.functional.cross_entropy(self.logits(bits), self._labels))
