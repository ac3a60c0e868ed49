"""Training a cell's runs: today's per-run loop, the runs stacked into one vmapped model, and the floor, one run.

A cell of the quantization study trains one model per fold and seed (10 seeds of
EmoDB's random split: 10 runs). The work here is one epoch of each of the 10
runs on EmoDB-shaped data (428 training utterances, batch 32, 63 frames of 180
features, 7 classes), one thread, as the ``quantization_train`` job runs it:

- ``per_run_loop``: each run's Adam steps in turn (what ``train_cell`` does);
- ``vmap_stacked``: the 10 models stacked with ``torch.func.stack_module_state`` and stepped together by one
  vmapped forward and backward and one Adam over the stacked weights. Only the MLP and 1DCNN have it:
  ``aten::lstm`` and ``aten::gru`` have no vmap batching rule (torch 2.x raises);
- ``matmul_floor``: dense 512 × 512 matrix products holding the epoch's multiply-adds (forward, input gradient and
  weight gradient: 3 × the forward's), at the same thread count: what the work cannot go below on this CPU.

Run on demand: ``pytest tests/benchmarks --benchmark-only``.
"""

from __future__ import annotations

import copy

import pytest
import torch
from threadpoolctl import threadpool_limits
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from serbench.settings.quantization import AttentionGRUSettings, CNN1DSettings, LSTMSettings, MLPSettings
from serbench.studies.quantization.models import build_model

RUNS, UTTERANCES, BATCH, FRAMES, DIM, CLASSES = 10, 428, 32, 63, 180, 7
SETTINGS = {
    "mlp": MLPSettings(),
    "lstm": LSTMSettings(),
    "attention_gru": AttentionGRUSettings(),
    "cnn1d": CNN1DSettings(),
}


def forward_macs(family: str) -> int:
    """Multiply-adds of one utterance's forward pass (weights' products only; elementwise work left out)."""
    s = SETTINGS[family]
    if family == "mlp":
        widths = [DIM, *s.hidden, CLASSES]
        return sum(a * b for a, b in zip(widths, widths[1:]))
    if family == "lstm":
        return FRAMES * 4 * s.hidden * (DIM + s.hidden) + s.hidden * CLASSES
    if family == "attention_gru":
        recurrent = FRAMES * 3 * s.hidden * (DIM + s.hidden)
        return recurrent + FRAMES * (s.hidden * s.attention_dim + s.attention_dim) + s.hidden * CLASSES
    return FRAMES * s.kernel_size * s.channels * (DIM + s.channels) + s.channels * CLASSES


def cell_data(family: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(runs, utterances, [frames,] 180)`` inputs, ``(runs, utterances)`` lengths and labels."""
    generator = torch.Generator().manual_seed(0)
    shape = (RUNS, UTTERANCES, DIM) if family == "mlp" else (RUNS, UTTERANCES, FRAMES, DIM)
    inputs = torch.randn(shape, generator=generator)
    labels = torch.randint(0, CLASSES, (RUNS, UTTERANCES), generator=generator)
    return inputs, torch.full((RUNS, UTTERANCES), FRAMES), labels


def cell_models(family: str) -> list[nn.Module]:
    torch.manual_seed(0)
    return [build_model(family, input_dim=DIM, n_classes=CLASSES, **SETTINGS[family].model_dump()) for _ in range(RUNS)]


def per_run_loop(family: str) -> float:
    """One epoch of every run, run after run; returns the last step's loss."""
    inputs, lengths, labels = cell_data(family)
    loss = torch.tensor(0.0)
    for run, model in enumerate(cell_models(family)):
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        for start in range(0, UTTERANCES, BATCH):
            rows = slice(start, start + BATCH)
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(inputs[run, rows], lengths[run, rows]), labels[run, rows])
            loss.backward()
            optimizer.step()
    return float(loss.detach())


def vmap_stacked(family: str) -> float:
    """One epoch of every run, the runs' models stacked and stepped together; returns the last step's loss."""
    inputs, lengths, labels = cell_data(family)
    models = cell_models(family)
    params, buffers = stack_module_state(models)
    params = {name: p.detach().requires_grad_() for name, p in params.items()}
    template = copy.deepcopy(models[0]).to("meta")
    optimizer = torch.optim.Adam(params.values(), lr=1e-3)

    def one(p, b, x, n):
        return functional_call(template, (p, b), (x, n))

    stacked = vmap(one, randomness="different")
    loss = torch.tensor(0.0)
    for start in range(0, UTTERANCES, BATCH):
        rows = slice(start, start + BATCH)
        optimizer.zero_grad()
        scores = stacked(params, buffers, inputs[:, rows], lengths[:, rows])  # (runs, batch, classes)
        per_run = nn.functional.cross_entropy(scores.transpose(1, 2), labels[:, rows], reduction="none").mean(dim=1)
        per_run.sum().backward()  # each run's weights get its own mean loss's gradient
        optimizer.step()
        loss = per_run[-1].detach()
    return float(loss)


def matmul_floor(family: str) -> int:
    """Dense products with the epoch's multiply-adds; returns how many 512 × 512 × 512 products that was."""
    products = 3 * RUNS * UTTERANCES * forward_macs(family) // 512**3
    a = torch.randn(512, 512)
    for _ in range(products):
        a @ a
    return products


@pytest.mark.benchmark(group="a cell's training epoch, 10 runs")
@pytest.mark.parametrize("family", list(SETTINGS))
@pytest.mark.parametrize("arm", [per_run_loop, vmap_stacked, matmul_floor], ids=lambda f: f.__name__)
def test_cell_training(benchmark, family, arm):
    if arm is vmap_stacked and family in ("lstm", "attention_gru"):
        with pytest.raises(RuntimeError, match="Batching rule not implemented"):
            vmap_stacked(family)
        pytest.skip(f"{family}: no vmap batching rule for its recurrent layer")
    benchmark.group = f"{family}: one epoch of a cell's 10 runs, 1 thread"
    with threadpool_limits(1), torch.no_grad() if arm is matmul_floor else torch.enable_grad():
        torch.set_num_threads(1)
        result = benchmark.pedantic(arm, args=(family,), rounds=2, warmup_rounds=1)
    if arm is matmul_floor:
        assert result * 512**3 > 3 * RUNS * UTTERANCES * forward_macs(family) - 512**3
    else:
        assert 0.5 < result < 4.0  # random labels over 7 classes: a cross-entropy near ln 7 = 1.95, finite
