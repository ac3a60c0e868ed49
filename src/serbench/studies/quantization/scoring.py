"""Scores of width assignments of one trained model on one subset: what every search-based allocator and the
allocator curves compare, one path for both (:mod:`.variants`, :mod:`.curves`).

A module's output depends only on the weights of the modules called before it and its own. :class:`ModuleOutputs`
keeps each run's module outputs under the widths of every module called up to that one, so an assignment replays
every call whose widths so far match a run before it: the float run's front before the first quantized layer, and
the front two assignments share (a search that tries the classifier's last layer at eight widths runs the
recurrent or convolutional front once per width of the front, not eight times). The replayed tensors are those
runs' own, so every score is the one a full run gives.
"""

from __future__ import annotations

import copy
import weakref
from collections import OrderedDict
from collections.abc import Callable

import torch
from torch import nn

from serbench.dataset import Subset
from serbench.lowbit.layers import quantization_layers
from serbench.lowbit.quantizers import load_fake_quantized
from serbench.metrics import weighted_accuracy
from serbench.studies.quantization.models import LengthBatches, batch_logits, length_batches

MAX_RECORDED_BYTES = 1_000_000_000  # module outputs kept per subset; the float run's beyond it: every run is full
Widths = dict[str, tuple[tuple[str, int], ...]]  # module -> its layers' (layer, bits); a module left out is float32


def parameter_owners(model: nn.Module) -> list[str]:
    """The modules that hold parameters themselves (``gru``, ``net.0``), by name."""
    return [
        name
        for name, module in model.named_modules()
        if name and next(module.parameters(recurse=False), None) is not None
    ]


def _bytes(outputs: list) -> int:
    tensors = [t for output in outputs for t in (output if isinstance(output, tuple) else (output,))]
    return sum(t.numel() * t.element_size() for t in tensors if isinstance(t, torch.Tensor))


class ModuleOutputs:
    """The outputs of ``model``'s parameter-owning modules, call by call and forward by forward of ``run``
    (``model -> logits``), for every assignment run so far (the float run first), to replay in a quantized copy.

    An output is kept under its call's prefix: the widths of every module called up to and including it
    (:data:`Widths`). Beyond :data:`MAX_RECORDED_BYTES` the least recently used are dropped. ``usable`` is False,
    and every run full, where replay cannot be exact or cheap: a parameter-owning module inside another, a forward
    whose module calls differ from batch to batch, or a float run of more than :data:`MAX_RECORDED_BYTES`.
    """

    def __init__(self, model: nn.Module, run: Callable[[nn.Module], torch.Tensor]):
        self.owners = parameter_owners(model)
        calls: list[list[tuple[str, object]]] = []  # per forward: (module, output) in call order
        recorder = copy.deepcopy(model)
        recorder.register_forward_pre_hook(lambda module, args: calls.append([]))
        for name in self.owners:
            module = recorder.get_submodule(name)
            module.forward = self._recording(calls, name, module.forward)
        run(recorder)
        patterns = {tuple(name for name, _ in forward) for forward in calls}
        nested = any(b.startswith(f"{a}.") for a in self.owners for b in self.owners)
        single = len(patterns) == 1  # every forward calls the same modules in the same order
        self.pattern = patterns.pop() if single else ()
        self._outputs: OrderedDict[tuple, list] = OrderedDict()  # prefix -> output per forward
        self._bytes = 0
        self._keys: list[tuple] = []  # the current run's prefix per call
        self._pending: dict[tuple, list] = {}  # outputs the current run computed, per prefix
        self._patched: nn.Module | None = None  # the model whose modules replay
        self._forward = self._position = 0  # current forward, call within it
        if single and not nested:
            for position in range(len(self.pattern)):
                self._keep(((),) * (position + 1), [forward[position][1] for forward in calls])
        calls.clear()  # the recording copy's patched modules keep the list until the garbage collector runs
        self.usable = bool(self._outputs) and len(self._outputs) == len(self.pattern)

    @staticmethod
    def _recording(calls: list, name: str, forward: Callable) -> Callable:
        def record(*args, **kwargs):
            output = forward(*args, **kwargs)
            calls[-1].append((name, output))
            return output

        return record

    def _keep(self, prefix: tuple, outputs: list) -> None:
        """Keep ``outputs`` under ``prefix``, dropping the least recently used beyond the byte budget."""
        size = _bytes(outputs)
        if size > MAX_RECORDED_BYTES:
            return
        self._outputs[prefix], self._bytes = outputs, self._bytes + size
        while self._bytes > MAX_RECORDED_BYTES:
            _, dropped = self._outputs.popitem(last=False)
            self._bytes -= _bytes(dropped)

    def logits(self, quantized: nn.Module, widths: Widths, run: Callable[[nn.Module], torch.Tensor]):
        """``run(quantized)`` for an assignment of ``widths``, every module call whose prefix a run before it had
        replayed. ``quantized``'s modules are patched at its first run here and stay patched for its next runs."""
        if quantized is not self._patched:
            self._patch(quantized)
        calls = [widths.get(name, ()) for name in self.pattern]
        self._keys = [tuple(calls[: position + 1]) for position in range(len(calls))]
        for key in self._keys:
            if key in self._outputs:
                self._outputs.move_to_end(key)
        self._forward, self._pending = -1, {}
        result = run(quantized)
        for key, outputs in self._pending.items():
            self._keep(key, outputs)
        self._pending = {}
        return result

    def _patch(self, quantized: nn.Module) -> None:
        # The patched modules reach this object by a weak reference: a module's patched forward refers back to the
        # module, a cycle only the garbage collector frees, and the outputs must go with their AssignmentScores.
        this = weakref.ref(self)

        def start(module, args):
            outputs = this()
            outputs._forward, outputs._position = outputs._forward + 1, 0

        def replaying(forward: Callable) -> Callable:
            def call(*args, **kwargs):
                outputs = this()
                key = outputs._keys[outputs._position]
                outputs._position += 1
                if key in outputs._outputs:
                    return outputs._outputs[key][outputs._forward]
                output = forward(*args, **kwargs)
                outputs._pending.setdefault(key, []).append(output)
                return output

            return call

        quantized.register_forward_pre_hook(start)
        for name in self.owners:
            module = quantized.get_submodule(name)
            module.forward = replaying(module.forward)
        self._patched = quantized


class AssignmentScores:
    """``model`` fake-quantized by ``quantizer`` at an assignment (layer -> bits) and run on ``subset`` on
    ``device``; each distinct assignment's logits are computed once, and on the CPU every module call whose widths so
    far an earlier run shared (the float run's among them) is replayed (:class:`ModuleOutputs`). ``cache`` holds
    the model's codes per layer and width (:func:`serbench.lowbit.quantizers.cached_codes`), shared with whoever
    packs the model afterwards."""

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
        self._outputs: ModuleOutputs | None = None
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
                self._outputs = self._outputs or ModuleOutputs(self.model, self._run)
                if self._outputs.usable:
                    self._logits[key] = self._outputs.logits(quantized, self._widths(key), self._run)
                else:
                    self._logits[key] = self._run(quantized)
        return self._logits[key]

    def _widths(self, assignment: tuple[tuple[str, int], ...]) -> Widths:
        """Module -> the ``(layer, bits)`` of its quantized layers, from a sorted assignment."""
        widths: Widths = {}
        for layer, bits in assignment:
            for module in dict.fromkeys(p.rpartition(".")[0] for p in self._layers[layer]):
                widths[module] = (*widths.get(module, ()), (layer, bits))
        return widths

    def accuracy(self, bits: dict[str, int]) -> float:
        """Weighted accuracy (WA): the paper's search signal (Shinde et al. 2024, Sec. 2.2.2)."""
        return weighted_accuracy(self.subset.labels, self.logits(bits).argmax(dim=1).numpy())

    def log_likelihood(self, bits: dict[str, int]) -> float:
        """Mean log-probability of the true class (minus the cross-entropy loss): a smooth search signal."""
        return -float(nn.functional.cross_entropy(self.logits(bits), self._labels))
