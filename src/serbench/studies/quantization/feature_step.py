"""The quantization study's feature step: a corpus's frame-level and utterance-level features, one cache each."""

from __future__ import annotations

import logging
import time

import numpy as np

from serbench.cache import save_ragged, save_rows
from serbench.corpora import left_out, read_manifest
from serbench.settings.quantization import PAPER_FEATURES, FeatureExtractionSettings
from serbench.studies.quantization.egemaps import extract_egemaps
from serbench.studies.quantization.features import extract_corpus

log = logging.getLogger(__name__)


def features(
    manifest_path: str,
    utterance_out: str,
    frames_out: str,
    cfg: FeatureExtractionSettings,
    threads: int = 1,
    feature_set: str = PAPER_FEATURES,
) -> str | None:
    """Frame-level features of every manifest row (``frames_out``) and utterance-level ones (``utterance_out``).

    ``mfcc_chroma_mel``: the paper's 180 values per frame (:func:`.features.extract_corpus`, batched STFT on
    ``threads``) and their time-means; ``egemaps``: eGeMAPSv02's 25 descriptors per frame and 88 functionals per
    utterance (:func:`.egemaps.extract_egemaps`). Returns the console line for rows left out
    (:func:`serbench.corpora.left_out`), ``None`` when every row was kept.

    Raises:
        ValueError: an unknown ``feature_set``.
    """
    start = time.perf_counter()
    manifest = read_manifest(manifest_path)
    if feature_set == "egemaps":
        ids, utterance, frames = extract_egemaps(manifest, cfg.sample_rate, threads)
    elif feature_set == PAPER_FEATURES:
        ids, frames = extract_corpus(manifest, cfg, threads)
        utterance = [f.mean(axis=0, dtype=np.float64) for f in frames]
    else:
        raise ValueError(f"unknown feature set {feature_set!r}; expected {PAPER_FEATURES} or egemaps")
    save_ragged(frames_out, ids, frames)
    save_rows(utterance_out, ids, np.stack(utterance).astype(np.float32))
    log.info("%d utterances, %d frames in %.1f s", len(ids), sum(map(len, frames)), time.perf_counter() - start)
    return left_out(manifest, ids, "features")
