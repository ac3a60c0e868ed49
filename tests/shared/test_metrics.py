"""The SER metrics equal scikit-learn's definitions on random label sets, the edge cases included: classes only
predicted (cross-corpus), classes never predicted, string labels."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, recall_score

from serbench.metrics import classification_scores, macro_f1, unweighted_average_recall, weighted_accuracy


@pytest.mark.parametrize("seed", range(20))
def test_metrics_equal_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    n, true_classes, predicted_classes = rng.integers(1, 60), rng.integers(1, 7), rng.integers(1, 9)
    y_true, y_pred = rng.integers(0, true_classes, n), rng.integers(0, predicted_classes, n)
    assert weighted_accuracy(y_true, y_pred) == pytest.approx(accuracy_score(y_true, y_pred), abs=1e-12)
    expected_ua = recall_score(y_true, y_pred, labels=np.unique(y_true), average="macro", zero_division=0)
    assert unweighted_average_recall(y_true, y_pred) == pytest.approx(expected_ua, abs=1e-12)
    assert macro_f1(y_true, y_pred) == pytest.approx(f1_score(y_true, y_pred, average="macro", zero_division=0))


def test_string_labels_and_a_class_only_predicted():
    y_true, y_pred = ["ang", "ang", "hap", "sad"], ["ang", "neu", "hap", "hap"]
    scores = classification_scores(y_true, y_pred)
    assert scores["accuracy"] == 0.5
    assert scores["uar"] == pytest.approx((0.5 + 1 + 0) / 3)  # "neu" lowers anger's recall, is no class of its own
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 0 + 0) / 4)  # F1 of ang, hap, neu, sad
