"""What each step reads of its study's section, as one typed model per step (:func:`serbench.settings.base.
step_settings`): its rule passes exactly these keys, so a change elsewhere reruns nothing, and its script reads them
back whole (:meth:`serbench.settings.base.Section.from_params`), so no step sees a default in place of the run's
value."""

from __future__ import annotations

from serbench.settings.base import step_settings
from serbench.settings.quantization import QuantizationSettings, _VariantNames
from serbench.settings.selfdistill import SelfDistillSettings, _UpstreamByName

QUANTIZE_STEP_KEYS = ("quantizers", "fixed_bits", "adaptive", "sensitivity", "qat", "search_fraction")
QuantizeStepSettings = step_settings(
    QuantizationSettings,
    QUANTIZE_STEP_KEYS,
    "QuantizeStepSettings",
    "What the quantize step reads of the quantization section: quantizers, widths, allocators, QAT, search share.",
    _VariantNames,
)
AllocatorStepSettings = step_settings(
    QuantizationSettings,
    (*QUANTIZE_STEP_KEYS, "curves"),
    "AllocatorStepSettings",
    "What the allocator-curve step reads: the quantize step's keys and the curves' own.",
    _VariantNames,
)
SelfDistillStatesSettings = step_settings(
    SelfDistillSettings,
    ("upstreams", "finetune", "batching", "clip_seconds", "layerdrop"),
    "SelfDistillStatesSettings",
    "What the self-distillation state cache reads: the upstreams, how clips are batched, and how each is opened.",
    _UpstreamByName,
)
