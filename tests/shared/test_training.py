import copy

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from conftest import family
from serbench.dataset import Subset
from serbench.settings import TrainSettings
from serbench.studies.quantization.models import MODELS, predict
from serbench.studies.quantization.training import epoch_runner, train_classifier

CENTRES = np.array([[0.0, 5.0, 0.0, 0.0], [5.0, 0.0, 0.0, 0.0], [0.0, 0.0, 5.0, 100.0]])


def blobs(n, seed):
    """Utterance-level subset: three separable classes in 4 dimensions."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=n)
    features = (CENTRES[labels] + rng.normal(size=(n, 4))).astype(np.float32)
    return Subset(features, np.ones(n, dtype=np.int64), labels, np.arange(n))


def sequences(n, seed, frames=12):
    """Frame-level subset: the class centre in every valid frame, random lengths, zero padding."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=n)
    lengths = rng.integers(3, frames + 1, size=n)
    features = np.zeros((n, frames, 4), dtype=np.float32)
    for i, (label, length) in enumerate(zip(labels, lengths)):
        features[i, :length] = CENTRES[label] + rng.normal(size=(length, 4))
    return Subset(features, lengths, labels, np.arange(n))


def test_training_learns_and_keeps_the_best_validation_epoch():
    torch.manual_seed(0)
    model = family("mlp", 4, 3, hidden=(16,))
    train, validation = blobs(300, 0), blobs(60, 1)
    history = train_classifier(model, train, validation, TrainSettings(max_epochs=30, patience=3), seed=0)
    accuracy = float((predict(model, validation.features) == validation.labels).mean())
    assert accuracy == history["best_validation_accuracy"] == max(history["validation_accuracy"])
    assert accuracy > 0.9
    assert history["epochs_run"] <= 30 and history["epochs_run"] - history["best_epoch"] <= 3


def test_a_non_finite_loss_stops_training_and_names_the_run():
    from serbench.training import NonFiniteLossError

    model = family("mlp", 4, 3, hidden=(8,))
    train = blobs(60, 0)
    train.features[7, 2] = np.nan  # one utterance with a NaN feature
    with pytest.raises(NonFiniteLossError, match=r"^mlp fold 3 seed 1: training loss is nan at epoch 1;"):
        train_classifier(model, train, blobs(30, 1), TrainSettings(max_epochs=5), seed=1, run="mlp fold 3 seed 1")


def test_the_weights_before_training_are_a_candidate_when_asked():
    from serbench.training import fit

    model = torch.nn.Linear(2, 2)
    start = copy.deepcopy(model.state_dict())
    scores = iter([0.9, 0.5, 0.6])  # epoch 0 (before training), then epochs 1 and 2

    def epoch() -> float:
        with torch.no_grad():
            model.weight.add_(1.0)
        return 0.1

    history = fit(model, epoch, lambda: next(scores), epochs=2, patience=None, score_start=True)
    assert history["best_epoch"] == 0 and history["best_validation_accuracy"] == 0.9
    assert all(torch.equal(model.state_dict()[k], v) for k, v in start.items())


def test_each_epoch_records_its_cpu_beside_its_wall_time():
    import time

    from serbench.training import fit

    def busy_epoch() -> float:  # 0.05 CPU-s of work, then 0.1 s asleep (wall, no CPU)
        start = time.process_time()
        while time.process_time() - start < 0.05:
            pass
        time.sleep(0.1)
        return 0.1

    history = fit(torch.nn.Linear(2, 2), busy_epoch, lambda: 0.5, epochs=3, patience=None)
    assert len(history["epoch_cpu_seconds"]) == len(history["epoch_seconds"]) == 3
    for cpu, wall in zip(history["epoch_cpu_seconds"], history["epoch_seconds"]):
        assert 0.05 <= cpu < wall - 0.09


def test_standardization_is_fitted_on_training_features():
    model = family("mlp", 4, 3, hidden=(8,))
    train = blobs(200, 0)
    train_classifier(model, train, blobs(30, 1), TrainSettings(max_epochs=1), seed=0)
    np.testing.assert_allclose(model.feature_mean.numpy(), train.features.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(model.feature_std.numpy(), train.features.std(axis=0), rtol=1e-5)


def test_frame_standardization_ignores_padding():
    model = family("lstm", 4, 3, hidden=8)
    train = sequences(50, 0)
    train_classifier(model, train, sequences(20, 1), TrainSettings(max_epochs=1), seed=0)
    valid = np.concatenate([f[:n] for f, n in zip(train.features, train.lengths)])
    np.testing.assert_allclose(model.feature_mean.numpy(), valid.mean(axis=0), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["lstm", "attention_gru", "cnn1d"])
def test_frame_models_learn_and_ignore_padding(name):
    torch.manual_seed(0)
    model = family(name, 4, 3)
    history = train_classifier(
        model, sequences(300, 0), sequences(60, 1), TrainSettings(max_epochs=15, patience=3), seed=0
    )
    assert history["best_validation_accuracy"] > 0.9
    # garbage written into the padding changes no prediction
    test = sequences(40, 2)
    noisy = test.features.copy()
    for i, length in enumerate(test.lengths):
        noisy[i, length:] = 1e3
    model.eval()
    with torch.no_grad():
        clean_logits = model(torch.as_tensor(test.features), torch.as_tensor(test.lengths))
        noisy_logits = model(torch.as_tensor(noisy), torch.as_tensor(test.lengths))
    torch.testing.assert_close(clean_logits, noisy_logits)


def test_every_family_is_registered_with_its_input_level():
    assert {name: cls.input_level for name, cls in MODELS.items()} == {
        "mlp": "utterance",
        "lstm": "frames",
        "attention_gru": "frames",
        "cnn1d": "frames",
    }


def test_same_seed_same_model():
    def run():
        torch.manual_seed(5)
        model = family("mlp", 4, 3, hidden=(8,))
        train_classifier(model, blobs(100, 0), blobs(30, 1), TrainSettings(max_epochs=3), seed=5)
        return model.state_dict()

    first, second = run(), run()
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_epochs_shuffle_as_a_shuffling_data_loader_with_the_same_seed():
    """Each epoch's batches are those of ``DataLoader(shuffle=True)`` seeded alike, epoch after epoch."""
    train = blobs(70, 0)
    seen: list[torch.Tensor] = []

    class Recorder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(4, 3))

        def forward(self, features, lengths):
            seen.append(features.clone())
            return features @ self.weight

    model = Recorder()
    epoch = epoch_runner(model, train, 16, 7, torch.optim.SGD(model.parameters(), lr=0.0))
    for _ in range(3):
        epoch()
    dataset = TensorDataset(torch.as_tensor(train.features), torch.as_tensor(train.labels))
    loader = DataLoader(dataset, batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(7))
    expected = [features for _ in range(3) for features, _ in loader]
    assert len(seen) == len(expected) == 15
    assert all(torch.equal(a, b) for a, b in zip(seen, expected))
