"""Classification metrics of the SER literature, as small pure functions.

WA (weighted accuracy) is plain accuracy; UA (unweighted average recall, also
UAR) is the mean of per-class recalls, the headline for imbalanced corpora.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, recall_score


def weighted_accuracy(y_true: Sequence, y_pred: Sequence) -> float:
    """WA: share of correctly classified utterances.

    >>> weighted_accuracy([0, 0, 0, 1], [0, 0, 0, 0])
    0.75
    """
    return float(accuracy_score(y_true, y_pred))


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
    return float(recall_score(y_true, y_pred, labels=np.unique(y_true), average="macro", zero_division=0))


def macro_f1(y_true: Sequence, y_pred: Sequence) -> float:
    """Unweighted mean of per-class F1 scores.

    >>> round(macro_f1([0, 0, 0, 1], [0, 0, 0, 0]), 4)
    0.4286
    """
    return float(f1_score(y_true, y_pred, average="macro", zero_division=0))


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
