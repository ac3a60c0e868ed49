"""One training epoch's batches: :class:`BatchGathered` (one ``index_select`` per tensor and batch) beside the plain
alternative (``DataLoader(shuffle=True)``, whose collation stacks the utterances one by one) and beside the floor (the
same bytes copied as contiguous slices, no shuffling).

Inputs are EmoDB-shaped: 430 training utterances of 256 frames × 180 values (the frame-level families) or of 180
values (the MLP); batches of 32, one thread. Both arms give the same batches (asserted).

Run on demand: ``pytest tests/benchmarks/test_batch_gathering.py --benchmark-only --benchmark-columns=min,mean``.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest
import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

from serbench.studies.quantization.training import BatchGathered

UTTERANCES, BATCH = 430, 32


def tensors(frames: bool) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(0)
    shape = (UTTERANCES, 256, 180) if frames else (UTTERANCES, 180)
    return torch.randn(shape, generator=generator), torch.randint(0, 7, (UTTERANCES,), generator=generator)


def gathered(data: tuple[torch.Tensor, ...]) -> Iterable:
    dataset = BatchGathered(*data)
    generator = torch.Generator().manual_seed(0)
    batches = BatchSampler(RandomSampler(dataset, generator=generator), BATCH, drop_last=False)
    return DataLoader(dataset, sampler=batches, batch_size=None, generator=generator)


def collated(data: tuple[torch.Tensor, ...]) -> Iterable:
    generator = torch.Generator().manual_seed(0)
    return DataLoader(TensorDataset(*data), batch_size=BATCH, shuffle=True, generator=generator)


def contiguous_slices(data: tuple[torch.Tensor, ...]) -> Iterable:
    return (tuple(t[start : start + BATCH].clone() for t in data) for start in range(0, UTTERANCES, BATCH))


def epoch(batches: Iterable) -> int:
    """Draw every batch, one at a time, as a training epoch does; the number of batches."""
    return sum(1 for _ in batches)


@pytest.mark.benchmark(group="an epoch's batches")
@pytest.mark.parametrize("frames", [True, False], ids=["frames", "utterances"])
@pytest.mark.parametrize("arm", [gathered, collated, contiguous_slices], ids=lambda f: f.__name__)
def test_batch_gathering(benchmark, arm, frames):
    torch.set_num_threads(1)
    data = tensors(frames)
    assert benchmark(lambda: epoch(arm(data))) == -(-UTTERANCES // BATCH)
    if arm is not contiguous_slices:
        assert all(torch.equal(a, b) for x, y in zip(arm(data), collated(data)) for a, b in zip(x, y))
