"""The classic baseline beside the quantized families: a float SVM on utterance-level features, same splits.

Per fold and seed: features standardised on the training utterances, then an
SVM (scikit-learn's ``SVC``) for every kernel and C of the settings; the one
with the best accuracy on the fold's ``validation`` subset (the utterances
that chose the families' early-stopping epoch) is scored once on the test
split. Its records have the quantize step's columns (model ``svm``, variant
``fp32``, quantizer ``none``), so the tables read it as one more row.
"""

from __future__ import annotations

import logging
import pickle

import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from serbench.atomic import write_json
from serbench.dataset import CorpusArrays, CorpusFiles
from serbench.folds import read_folds
from serbench.lowbit.quantizers import FLOAT_BITS
from serbench.metrics import classification_scores, hits_string, weighted_accuracy
from serbench.progress import progress
from serbench.provenance import stamp
from serbench.settings.quantization import SVMSettings
from serbench.studies.quantization.train_step import cell_label, fold_runs

log = logging.getLogger(__name__)


def fit_svm(train, validation, cfg: SVMSettings, seed: int):
    """The pipeline (standardisation + SVC) of the kernel and C with the best validation accuracy; ties go to the
    first in the settings' order.

    Args:
        train, validation: :class:`~serbench.dataset.Subset` of ``(N, dim)`` utterance-level features.

    Returns:
        ``(pipeline, {"kernel", "C", "validation_accuracy"})``.
    """
    best, chosen = None, None
    for kernel in cfg.kernels:
        for c in cfg.c:
            pipeline = make_pipeline(StandardScaler(), SVC(kernel=kernel, C=c, random_state=seed))
            pipeline.fit(train.features, train.labels)
            accuracy = weighted_accuracy(validation.labels, pipeline.predict(validation.features))
            if chosen is None or accuracy > chosen["validation_accuracy"]:
                best, chosen = pipeline, {"kernel": kernel, "C": c, "validation_accuracy": accuracy}
    return best, chosen


def svm_parameters(pipeline) -> int:
    """Values the fitted pipeline stores to predict: support vectors, dual coefficients, intercepts, and the
    standardisation's means and scales."""
    svc, scaler = pipeline[-1], pipeline[0]
    return int(svc.support_vectors_.size + svc.dual_coef_.size + svc.intercept_.size + 2 * scaler.mean_.size)


def svm_cell(
    split_path: str,
    corpora: dict[str, CorpusFiles],
    cfg: SVMSettings,
    run: dict,
    out_metrics: str,
    normalise: str = "none",
) -> None:
    """Fit, choose and score the SVM on every fold and seed of a fold table; one JSON list of records.

    ``normalise`` standardises features per corpus or speaker first, as for the families
    (:class:`serbench.dataset.CorpusArrays`).

    Sizes count float32 storage of :func:`svm_parameters` (``size_kb``, ``paper_count_kb``); ``file_bytes`` is
    the pickled pipeline's length (scikit-learn stores float64).
    """
    folds = read_folds(split_path)
    arrays, records = CorpusArrays(corpora, "utterance", normalise=normalise), []
    for seed, fold in progress(fold_runs(folds), f"svm {cell_label(run)}", "run"):
        data = arrays.split(folds[folds["seed"] == seed], fold, split_path)
        test = data.subsets["test"]
        pipeline, chosen = fit_svm(data.subsets["train"], data.subsets["validation"], cfg, seed)
        predicted = pipeline.predict(test.features)
        n_params = svm_parameters(pipeline)
        records.append(
            {**run, "model": "svm", "quantizer": "none", "variant": "fp32", "fold": fold, "seed": seed}
            | {"n_params": n_params, "avg_bits": FLOAT_BITS, "bits": {}, "size_kb": 4 * n_params / 1000}
            | {"paper_count_kb": 4 * n_params / 1000, "file_bytes": len(pickle.dumps(pipeline))}
            | {"model_file": None}
            | {"n_test": len(test.labels), "n_correct": int((predicted == test.labels).sum())}
            | {"n_validation": len(data.subsets["validation"].labels), "n_search": 0, "svm": chosen}
            | {"chance_wa": float(np.bincount(test.labels).max() / len(test.labels))}
            | {"chance_ua": 1 / len(data.classes), "classes": " ".join(data.classes)}
            | {"test_utterances": test.ids.tolist(), "test_speakers": test.speakers.tolist()}
            | {"test_correct": hits_string(predicted == test.labels)}
            | classification_scores(test.labels, predicted)
            | stamp()
        )
        log.info("fold %s seed %d: %s C=%g, validation accuracy %.3f", fold, seed, *chosen.values())
    write_json(out_metrics, records)
