"""The baseline a reviewer asks for beside the head: logistic regression on the same pooled encoder states.

Standardised features (fitted on the training subset), balanced class weights, the inverse regularisation ``C``
chosen on the validation subset's UA from a small grid (test-set hygiene: the test subset is never read).
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from serbench.metrics import unweighted_average_recall

C_GRID = (0.01, 0.1, 1.0, 10.0)


def fit_logistic_regression(
    train: tuple[np.ndarray, np.ndarray], validation: tuple[np.ndarray, np.ndarray], seed: int
) -> tuple[Pipeline, float]:
    """Fit on ``train`` for every ``C`` of :data:`C_GRID`; keep the best validation UA (ties: the smaller ``C``).

    Args:
        train, validation: ``(features (N, hidden), labels (N,))``.
        seed: the solver's random state.

    Returns:
        The fitted pipeline (scaler + classifier) and its ``C``.
    """
    best: tuple[float, float, Pipeline] | None = None
    for c in C_GRID:
        model = make_pipeline(
            StandardScaler(),
            LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=seed),
        ).fit(*train)
        score = unweighted_average_recall(validation[1], model.predict(validation[0]))
        if best is None or score > best[0]:
            best = (score, c, model)
    return best[2], best[1]
