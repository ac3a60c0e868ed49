"""The ``mse`` quantizer on one layer: its candidate clipping ranges tried one at a time, beside the plain alternative
(every range at once, one ``(ranges, rows, values)`` array, as the quantizer did before) and beside the floor (the
``uniform`` quantizer: one min-max range, a 36th of the arithmetic).

The layer is the MLP's largest (512 × 256, 4 bits), quantized at every width of every model of a cell by the quantize
step; both arms give the same codes (asserted).

Run on demand: ``pytest tests/benchmarks/test_quantizer_cost.py --benchmark-only --benchmark-columns=min,mean``.
"""

from __future__ import annotations

import pytest
import torch

from serbench.lowbit.quantizers import CLIP_RATIOS, Codes, _affine, mse, uniform

BITS = 4


def all_ranges_at_once(weights: torch.Tensor, bits: int) -> Codes:
    """The plain alternative: every candidate range's restored weights in one array."""
    rows = weights.float()
    low, high = rows.min(dim=1, keepdim=True).values, rows.max(dim=1, keepdim=True).values
    ratios = CLIP_RATIOS[:, None, None]
    top = 2**bits - 1
    scale = torch.where(high > low, (high - low) / top, torch.ones_like(low)) * ratios
    restored = torch.clamp(torch.round((rows - ratios * low) / scale), 0, top) * scale + ratios * low
    best = ratios[((restored - rows) ** 2).sum(dim=2).argmin(dim=0)].reshape(-1, 1)
    return _affine(rows, bits, best * low, best * high)


@pytest.mark.benchmark(group="mse quantizer, a 512 x 256 layer at 4 bits")
@pytest.mark.parametrize("arm", [mse, all_ranges_at_once, uniform], ids=lambda f: f.__name__)
def test_quantizer_cost(benchmark, arm):
    torch.set_num_threads(1)
    weights = torch.randn(512, 256, generator=torch.Generator().manual_seed(0)) * 0.05
    codes = benchmark(arm, weights, BITS)
    if arm is not uniform:
        assert all(torch.equal(a, b) for a, b in zip(codes, mse(weights, BITS)))
