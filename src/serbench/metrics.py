"""Classification metrics of the SER literature, as small pure functions.

WA (weighted accuracy) is plain accuracy; UA (unweighted average recall, also
UAR) is the mean of per-class recalls, the headline for imbalanced corpora.
Each is a few array operations (they equal scikit-learn's ``accuracy_score``,
``recall_score`` and ``f1_score``, tested), since the quantization study scores
thousands of small test sets a cell, where scikit-learn's input checks cost more
than the counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def weighted_accuracy(y_true: Sequence, y_pred: Sequence) -> float:
    """WA: share of correctly classified utterances.

    >>> weighted_accuracy([0, 0, 0, 1], [0, 0, 0, 0])
    0.75
    """
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def unweighted_average_recall(y_true: Sequence, y_pred: Sequence) -> float:
    """UA / UAR: mean over the classes present in ``y_true`` of the per-class recall.

    A predicted class absent from ``y_true`` (a small validation subset, a
    cross-corpus test set) lowers the recall of the classes it was confused
    with but is not a class of its own.

    >>> unweighted_average_recall([0, 0, 0, 1], [0, 0, 0, 0])
    0.5
    >>> unweighted_average_recall([0, 0, 1, 1], [0, 2, 1, 1])
    0.75
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean([np.mean(y_pred[y_true == label] == label) for label in np.unique(y_true)]))


def macro_f1(y_true: Sequence, y_pred: Sequence) -> float:
    """Unweighted mean of per-class F1 scores, ``2 TP / (2 TP + FP + FN)``, over the classes in either input.

    >>> round(macro_f1([0, 0, 0, 1], [0, 0, 0, 0]), 4)
    0.4286
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    scores = []
    for label in np.union1d(y_true, y_pred):
        true, predicted = y_true == label, y_pred == label
        hits = np.sum(true & predicted)
        scores.append(2 * hits / (np.sum(true) + np.sum(predicted)))
    return float(np.mean(scores))


def classification_scores(y_true: Sequence, y_pred: Sequence) -> dict[str, float]:
    """WA, UA and macro-F1 in one dict: keys ``accuracy``, ``uar``, ``macro_f1``."""
    return {
        "accuracy": weighted_accuracy(y_true, y_pred),
        "uar": unweighted_average_recall(y_true, y_pred),
        "macro_f1": macro_f1(y_true, y_pred),
    }


def hits_string(hits) -> str:
    """Per-utterance results as a run record stores them: ``"1"`` where the prediction was right, ``"0"`` elsewhere.

    >>> hits_string([True, False, True])
    '101'
    """
    return "".join("1" if hit else "0" for hit in hits)
