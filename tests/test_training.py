import numpy as np
import torch

from serbench.models import build_model
from serbench.training import TrainConfig, predict, train_classifier


def blobs(n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=n)
    centres = np.array([[0.0, 5.0, 0.0, 0.0], [5.0, 0.0, 0.0, 0.0], [0.0, 0.0, 5.0, 100.0]])
    return (centres[labels] + rng.normal(size=(n, 4))).astype(np.float32), labels


def test_training_learns_and_keeps_the_best_validation_epoch():
    torch.manual_seed(0)
    model = build_model("mlp", input_dim=4, n_classes=3, hidden=(16,))
    train, validation = blobs(300, 0), blobs(60, 1)
    history = train_classifier(model, train, validation, TrainConfig(max_epochs=30, patience=3), seed=0)
    accuracy = float((predict(model, validation[0]) == validation[1]).mean())
    assert accuracy == history["best_validation_accuracy"] == max(history["validation_accuracy"])
    assert accuracy > 0.9
    assert history["epochs_run"] <= 30 and history["epochs_run"] - history["best_epoch"] <= 3


def test_standardization_is_fitted_on_training_features():
    model = build_model("mlp", input_dim=4, n_classes=3, hidden=(8,))
    train = blobs(200, 0)
    train_classifier(model, train, blobs(30, 1), TrainConfig(max_epochs=1), seed=0)
    np.testing.assert_allclose(model.feature_mean.numpy(), train[0].mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(model.feature_std.numpy(), train[0].std(axis=0), rtol=1e-5)


def test_same_seed_same_model():
    def run():
        torch.manual_seed(5)
        model = build_model("mlp", input_dim=4, n_classes=3, hidden=(8,))
        train_classifier(model, blobs(100, 0), blobs(30, 1), TrainConfig(max_epochs=3), seed=5)
        return model.state_dict()

    first, second = run(), run()
    assert all(torch.equal(first[k], second[k]) for k in first)
