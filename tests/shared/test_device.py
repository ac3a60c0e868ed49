"""The ``device`` setting: how a name resolves, and every torch step running on the device it is given and handing
its model back on the CPU. Each step runs on the CPU here and on CUDA or MPS where the machine has one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import family
from serbench.dataset import SplitData, Subset
from serbench.device import model_device, on_device, resolve_device
from serbench.errors import InputError
from serbench.settings import QATSettings, QuantizationSettings, Settings, TrainSettings
from serbench.settings.ssl import HeadTrainSettings
from serbench.ssl.upstream import random_upstream
from serbench.studies.distilhubert.head import PooledHead, train_head
from serbench.studies.quantization.curves import curve_points
from serbench.studies.quantization.models import logits
from serbench.studies.quantization.qat import quantization_aware_training
from serbench.studies.quantization.training import train_classifier
from serbench.studies.selfdistill.model import SelfDistillModel
from serbench.studies.selfdistill.training import Feed, exit_logits

DEVICES = (
    ["cpu"] + (["cuda"] if torch.cuda.is_available() else []) + (["mps"] if torch.backends.mps.is_available() else [])
)
CENTRES = np.random.default_rng(3).normal(size=(3, 6)) * 2.0


def frames(n: int, seed: int) -> Subset:
    """Three classes of 12-frame sequences of 6 features, lengths 6 to 12."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=n)
    features = (CENTRES[labels][:, None, :] + rng.normal(size=(n, 12, 6))).astype(np.float32)
    return Subset(features, rng.integers(6, 13, size=n), labels, np.arange(n), np.array(["s"] * n))


def on_cpu(model: torch.nn.Module) -> bool:
    return all(p.device.type == "cpu" for p in model.parameters())


def test_names_resolve_to_this_machines_devices():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else DEVICES[-1])
    with pytest.raises(InputError, match="'cuda:9'"):
        resolve_device("cuda:9")
    with pytest.raises(InputError, match="not a device name"):
        resolve_device("tpu")


def test_the_setting_is_validated_and_asks_slurm_for_a_gpu_only_where_a_step_would_use_it():
    assert Settings(device="cuda:1").gpu() == 1 and Settings(device="cpu").gpu(fine_tuning=True) == 0
    with pytest.raises(ValueError, match="device"):
        Settings(device="gpu")


def test_on_device_copies_only_a_model_that_is_elsewhere():
    model = family("mlp", 6, 3, hidden=(4,))
    assert on_device(model, None) is model and on_device(model, "cpu") is model
    assert on_device(model, torch.device("meta")) is not model and on_cpu(model)


@pytest.mark.parametrize("device", DEVICES)
def test_quantization_steps_train_score_and_trace_on_their_device_and_return_to_the_cpu(device):
    torch.manual_seed(0)
    model = family("lstm", 6, 3, hidden=8)
    train, validation = frames(60, 0), frames(20, 1)
    history = train_classifier(model, train, validation, TrainSettings(max_epochs=2), seed=0, device=device)
    assert history["device"] == device and on_cpu(model)
    cpu_scores = logits(model, validation.features, validation.lengths)
    assert torch.allclose(logits(model, validation.features, validation.lengths, device=device), cpu_scores, atol=1e-4)
    tuned, _ = quantization_aware_training(
        model, {"out": 2}, "uniform", train, validation, QATSettings(epochs=1), 16, 0, device
    )
    assert on_cpu(tuned)
    cfg = QuantizationSettings(curves={"t_margins": (0.1,), "budgets": (4.0,)})
    data = SplitData(["a", "b", "c"], {"train": train, "validation": validation})
    found = curve_points(model, data, cfg, seed=0, device=device)
    assert {a for a, *_ in found.points} == {"importance", "importance_ll", "sensitivity", "hessian", "fit"}
    assert on_cpu(model)


@pytest.mark.parametrize("device", DEVICES)
def test_a_distilhubert_head_trains_on_its_device(device):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 40)
    states = (rng.normal(size=(40, 1, 3, 8)) + labels[:, None, None, None]).astype(np.float32)
    subset = Subset(states, np.ones(40, dtype=np.int64), labels, np.arange(40), np.array(["s"] * 40))
    head = PooledHead(3, 8, 3, layer_weights=True, head_hidden=8, dropout=0.0)
    history = train_head(head, subset, subset, 3, HeadTrainSettings(epochs=2), seed=0, device=device)
    assert history["device"] == device and on_cpu(head)


@pytest.mark.parametrize("device", DEVICES)
def test_self_distillation_feeds_batches_to_the_models_device(device):
    torch.manual_seed(0)
    model = SelfDistillModel(random_upstream("wav2vec2-base", "tiny").eval(), 3, (1,), "conv").to(device)
    waveforms = [np.random.default_rng(i).normal(size=1600 + 400 * i).astype(np.float32) for i in range(3)]
    scores = exit_logits(model, waveforms, 2, Feed())
    assert model_device(model).type == device and all(isinstance(s, np.ndarray) for s in scores.values())
    assert {s.shape for s in scores.values()} == {(3, 3)}
