"""CPU latency of the quantization study's models on one clip: feature extraction, then the classifier.

A packed model (any bit-width) is unpacked to float32 weights when loaded (:func:`serbench.studies.quantization.packing.
load_packed`), so every variant of a family runs the same float graph: its latency is the family's, and bytes on disk
are what quantization changes. Latency does not depend on the weights' values, so freshly built models are timed,
with one output per canonical emotion (the widest layer any corpus gives; its cost is negligible).
"""

from __future__ import annotations

import numpy as np
import torch

from serbench.errors import InputError
from serbench.settings.quantization import PAPER_FEATURES, FeatureExtractionSettings
from serbench.ssl.latency import median_latency
from serbench.studies.quantization.egemaps import egemaps
from serbench.studies.quantization.features import batch_features
from serbench.studies.quantization.models import build_model, count_parameters, model_class


def clip_features(clip: np.ndarray, feature_set: str, cfg: FeatureExtractionSettings) -> tuple[np.ndarray, np.ndarray]:
    """Utterance-level ``(dim_u,)`` and frame-level ``(frames, dim_f)`` features of one clip, as the study has them.

    Raises:
        InputError: an unknown ``feature_set``.
    """
    if feature_set == "egemaps":
        return egemaps(clip, cfg.sample_rate)
    if feature_set == PAPER_FEATURES:
        frames = batch_features([clip], cfg)[0]
        return frames.mean(axis=0), frames
    raise InputError(f"unknown feature set {feature_set!r}; expected {PAPER_FEATURES} or egemaps")


def clip_inputs(
    utterance: np.ndarray, frames: np.ndarray, input_level: str, max_frames: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """One clip's model inputs and lengths, as a batch of one: ``(1, dim_u)`` for an utterance-level family,
    ``(1, frames, dim_f)`` cut to ``max_frames`` otherwise, as training cuts them."""
    if input_level == "utterance":
        return torch.tensor(np.asarray(utterance, np.float32))[None], torch.ones(1, dtype=torch.long)
    cut = np.asarray(frames[:max_frames], np.float32)
    return torch.tensor(cut)[None], torch.tensor([len(cut)])


def feature_model_latency(
    feature_set: str,
    cfg: FeatureExtractionSettings,
    families: dict[str, dict],
    n_classes: int,
    max_frames: int,
    seconds: float,
    repeats: int,
    threads: list[int],
) -> dict:
    """Median wall time of features + classifier on one clip, each family, at each CPU thread count.

    Args:
        feature_set: ``mfcc_chroma_mel`` or ``egemaps``.
        cfg: feature settings (sample rate, STFT).
        families: model family name -> its settings (``hidden``, ``dropout``, …).
        n_classes: classes of the output layer.
        max_frames: frame-level inputs are cut to this many frames, as in training.
        seconds: clip length (s); the clip is uniform noise at ``cfg.sample_rate``.
        repeats: timed runs after two warm-up runs; the median is reported.
        threads: CPU thread counts (torch's; openSMILE runs on one).

    Returns:
        ``features``, ``clip_seconds``, ``repeats``, ``threads``, ``features_s`` and ``models`` (family ->
        ``n_params``, ``latency_s``, ``classifier_s``); ``features_s``, ``latency_s`` (features and model in one
        timed call) and ``classifier_s`` (the model alone on the clip's features) map a thread count to seconds.
    """
    clip = np.random.default_rng(0).uniform(-0.5, 0.5, int(seconds * cfg.sample_rate)).astype(np.float32)
    utterance, frames = clip_features(clip, feature_set, cfg)
    result: dict = {
        "features": feature_set,
        "clip_seconds": seconds,
        "repeats": repeats,
        "threads": threads,
        "features_s": {},
        "models": {},
    }
    runs, classifiers = {}, {}
    for family, settings in families.items():
        level = model_class(family).input_level
        dim = utterance.shape[-1] if level == "utterance" else frames.shape[-1]
        model = build_model(family, input_dim=dim, n_classes=n_classes, **settings).eval()

        def classify(utt, frm, model=model, level=level) -> torch.Tensor:
            with torch.no_grad():
                return model(*clip_inputs(utt, frm, level, max_frames))

        runs[family] = lambda classify=classify: classify(*clip_features(clip, feature_set, cfg))
        classifiers[family] = lambda classify=classify: classify(utterance, frames)
        result["models"][family] = {"n_params": count_parameters(model), "latency_s": {}, "classifier_s": {}}
    for count in threads:
        torch.set_num_threads(count)
        result["features_s"][count] = median_latency(lambda: clip_features(clip, feature_set, cfg), repeats)
        for family, run in runs.items():
            result["models"][family]["latency_s"][count] = median_latency(run, repeats)
            result["models"][family]["classifier_s"][count] = median_latency(classifiers[family], repeats)
    return result
