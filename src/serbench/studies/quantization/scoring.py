"""Scores of width assignments of one trained model on one subset: what every search-based allocator and the
allocator curves compare, one path for both (:mod:`.variants`, :mod:`.curves`).

An assignment that quantizes some layers leaves every module called before the first of them computing what the
float model computed: :class:`FloatOutputs` records those modules' outputs in one float run and replays them, so a
search that tries the classifier's last layer at eight widths runs the recurrent or convolutional front once, not
eight times. The replayed tensors are the float run's own, so every score is the one a full run gives.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from serbench.dataset import Subset
from serbench.lowbit.layers import quantization_layers
from serbench.lowbit.quantizers import load_fake_quantized
from serbench.metrics import weighted_accuracy
from serbench.studies.quantization.models import LengthBatches, batch_logits, length_batches

MAX_RECORDED_BYTES = 1_000_000_000  # above this, a subset's module outputs are not kept: every run is full


def parameter_owners(model: nn.Module) -> list[str]:
    """The modules that hold parameters themselves (``gru``, ``net.0``), by name."""
    return [
        name
        for name, module in model.named_modules()
        if name and next(module.parameters(recurse=False), None) is not None
    ]


def _bytes(output) -> int:
    tensors = output if isinstance(output, tuple) else (output,)
    return sum(t.numel() * t.element_size() for t in tensors if isinstance(t, torch.Tensor))


class FloatOutputs:
    """The outputs of ``model``'s parameter-owning modules in one float run of ``run`` (``model -> logits``), call
    by call, to replay in a quantized copy. ``usable`` is False, and every run full, where replay cannot be exact
    or cheap: a parameter-owning module inside another, a forward whose module calls differ from batch to batch,
    or more than :data:`MAX_RECORDED_BYTES` of outputs."""

    def __init__(self, model: nn.Module, run: Callable[[nn.Module], torch.Tensor]):
        self.owners = parameter_owners(model)
        self.calls: list[list[tuple[str, object]]] = []  # per forward: (module, output) in call order
        recorder = copy.deepcopy(model)
        recorder.register_forward_pre_hook(lambda module, args: self.calls.append([]))
        for name in self.owners:
            module = recorder.get_submodule(name)
            module.forward = self._recording(name, module.forward)
        run(recorder)
        patterns = {tuple(name for name, _ in calls) for calls in self.calls}
        nested = any(b.startswith(f"{a}.") for a in self.owners for b in self.owners)
        size = sum(_bytes(output) for calls in self.calls for _, output in calls)
        self.usable = len(patterns) == 1 and not nested and size <= MAX_RECORDED_BYTES
        self.pattern = patterns.pop() if len(patterns) == 1 else ()
        if not self.usable:
            self.calls = []
        self._patched: nn.Module | None = None  # the model whose modules replay
        self._first = self._forward = self._position = 0  # first call run, current forward, call within it

    def _recording(self, name: str, forward: Callable) -> Callable:
        def record(*args, **kwargs):
            output = forward(*args, **kwargs)
            self.calls[-1].append((name, output))
            return output

        return record

    def logits(self, quantized: nn.Module, changed: set[str], run: Callable[[nn.Module], torch.Tensor]):
        """``run(quantized)`` with every module call before the first call of a ``changed`` module replayed.
        ``quantized``'s modules are patched at its first run here and stay patched for its next runs."""
        if quantized is not self._patched:
            self._patch(quantized)
        self._first = next((i for i, name in enumerate(self.pattern) if name in changed), len(self.pattern))
        self._forward = -1
        return run(quantized)

    def _patch(self, quantized: nn.Module) -> None:
        def start(module, args):
            self._forward, self._position = self._forward + 1, 0

        def replaying(forward: Callable) -> Callable:
            def call(*args, **kwargs):
                position = self._position
                self._position += 1
                if position < self._first:
                    return self.calls[self._forward][position][1]
                return forward(*args, **kwargs)

            return call

        quantized.register_forward_pre_hook(start)
        for name in self.owners:
            module = quantized.get_submodule(name)
            module.forward = replaying(module.forward)
        self._patched = quantized


class AssignmentScores:
    """``model`` fake-quantized by ``quantizer`` at an assignment (layer -> bits) and run on ``subset`` on
    ``device``; each distinct assignment's logits are computed once, and on the CPU what precedes its first
    quantized layer is replayed from the float run (:class:`FloatOutputs`). ``cache`` holds the model's codes per
    layer and width (:func:`serbench.lowbit.quantizers.cached_codes`), shared with whoever packs the model
    afterwards."""

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
        self._layers = quantization_layers(model)
        self._float: FloatOutputs | None = None
        self._scratch: nn.Module | None = None  # a copy of the model that carries each assignment's weights in turn
        self._batches: LengthBatches | None = None  # the subset gathered and cut into batches once

    def _run(self, model: nn.Module) -> torch.Tensor:
        if self._batches is None:
            self._batches = length_batches(self.subset.features, self.subset.lengths)
        return batch_logits(model, self._batches, self.device)

    def logits(self, bits: dict[str, int]) -> torch.Tensor:
        """Logits ``(utterances, classes)`` on the CPU."""
        key = tuple(sorted(bits.items()))
        if key not in self._logits:
            if self._scratch is None:
                self._scratch = copy.deepcopy(self.model)
            quantized = load_fake_quantized(self._scratch, self.model, bits, self.quantizer, self.cache)
            if self.device not in (None, "cpu", torch.device("cpu")):
                self._logits[key] = self._run(quantized)
            else:
                self._float = self._float or FloatOutputs(self.model, self._run)
                changed = {p.rpartition(".")[0] for layer in bits for p in self._layers[layer]}
                if self._float.usable:
                    self._logits[key] = self._float.logits(quantized, changed, self._run)
                else:
                    self._logits[key] = self._run(quantized)
        return self._logits[key]

    def accuracy(self, bits: dict[str, int]) -> float:
        """Weighted accuracy (WA): the paper's search signal (Shinde et al. 2024, Sec. 2.2.2)."""
        return weighted_accuracy(self.subset.labels, self.logits(bits).argmax(dim=1).numpy())

    def log_likelihood(self, bits: dict[str, int]) -> float:
        """Mean log-probability of the true class (minus the cross-entropy loss): a smooth search signal."""
        return -float(nn.functional.cross_entropy(self.logits(bits), self._labels))
