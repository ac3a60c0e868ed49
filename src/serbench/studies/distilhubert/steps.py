"""Workflow steps of the DistilHuBERT study (Ismail) that run the encoder or train: cache its pooled states, and
train every seed of one fold (a head on cached states, or encoder and head together)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import confusion_matrix, f1_score

from serbench.atomic import atomic_path, write_json
from serbench.cache import load_ragged, load_rows, save_rows
from serbench.corpora import read_manifest
from serbench.dataset import CorpusArrays, CorpusFiles, SplitData
from serbench.folds import read_folds
from serbench.labels import LABEL_MAPS
from serbench.metrics import classification_scores, hits_string
from serbench.protocols import PRODUCTION_FOLD
from serbench.provenance import stamp
from serbench.settings.ssl import AugmentSettings, DistilHubertSettings
from serbench.ssl.encoders import SAMPLE_RATE
from serbench.ssl.upstream import UpstreamChoice, load_upstream, pooled_batches
from serbench.step_files import load_checkpoint
from serbench.studies.distilhubert.augment import augment
from serbench.studies.distilhubert.baseline import fit_logistic_regression
from serbench.studies.distilhubert.finetune import FineTuneModel, finetuned_probabilities, train_finetune
from serbench.studies.distilhubert.head import PooledHead, clean_view, head_probabilities, train_head

log = logging.getLogger(__name__)


def embeddings(
    waveforms_path: str,
    pretrained: str,
    whisper_input: str,
    views: int,
    augment_cfg: AugmentSettings,
    seed: int,
    out: str,
    device: torch.device | str = "cpu",
) -> None:
    """Pooled hidden states of every utterance: ``(N, 1 + views, layers + 1, hidden)``; view 0 is clean; the
    encoder runs on ``device``.

    Clips are encoded in batches of similar length (a clip's states do not depend on its batch). Augmented view
    ``v`` of utterance ``i`` draws from a generator seeded with ``(seed, i, v)``, so a rerun reproduces the cache.
    """
    upstream = load_upstream(pretrained, whisper_input=whisper_input).to(device)
    ids, waveforms = load_ragged(waveforms_path)
    start = time.perf_counter()
    copies = [waveforms] + [
        [augment(w, SAMPLE_RATE, augment_cfg, np.random.default_rng([seed, i, v])) for i, w in enumerate(waveforms)]
        for v in range(1, views + 1)
    ]
    save_rows(out, list(ids), np.stack([pooled_batches(upstream, view) for view in copies], axis=1))
    log.info("%d utterances × %d views encoded in %.1f s", len(ids), views + 1, time.perf_counter() - start)


def _scores(labels: np.ndarray, predicted: np.ndarray, classes: list[str]) -> dict:
    per_class = f1_score(labels, predicted, labels=np.arange(len(classes)), average=None, zero_division=0)
    return {**classification_scores(labels, predicted), "f1_per_class": dict(zip(classes, per_class.tolist()))}


def _cross_subset(files: CorpusFiles, label_map: str, classes: list[str], ragged: bool) -> tuple[list, np.ndarray]:
    """Items (clean states or waveforms) and labels of the cross-corpus utterances whose emotion is a study class."""
    manifest = read_manifest(files.manifest).set_index("utterance_id")
    ids, items = load_ragged(files.features) if ragged else load_rows(files.features)
    mapping = LABEL_MAPS[label_map] or {c: c for c in classes}
    emotions = [mapping.get(manifest.loc[u, "emotion"]) for u in ids]
    kept = [(item, classes.index(e)) for item, e in zip(items, emotions) if e in classes]
    return [item for item, _ in kept], np.array([label for _, label in kept])


def _cross_scores(labels: np.ndarray, predicted: np.ndarray, classes: list[str]) -> dict:
    matrix = confusion_matrix(labels, predicted, labels=np.arange(len(classes)))
    return {**_scores(labels, predicted, classes), "n_test": len(labels), "confusion": matrix.tolist()}


def _save_head(path: Path, head: PooledHead, classes: list[str], encoder: torch.nn.Module | None = None) -> None:
    """Head weights, classes and constructor arguments; with ``encoder``, its fine-tuned weights too."""
    saved = {"state_dict": head.state_dict(), "classes": classes, "kwargs": head.init_kwargs}
    if encoder is not None:
        saved["encoder_state_dict"] = encoder.state_dict()
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(saved, tmp)


def head_path(folder: str | Path, seed: int) -> Path:
    """One run's head file in a fold's folder: ``<folder>/seed<seed>/head.pt``."""
    return Path(folder, f"seed{seed}", "head.pt")


def load_head(path: str | Path) -> tuple[PooledHead, list[str], dict | None]:
    """A head saved by :func:`train_fold`, in eval mode, read once.

    Returns:
        ``(head, class names, encoder state dict)``; the state dict is the
        fine-tuned encoder's (``distilhubert.finetune``), ``None`` for a frozen study.
    """
    saved = load_checkpoint(path)
    head = PooledHead(**saved["kwargs"])
    head.load_state_dict(saved["state_dict"])
    return head.eval(), saved["classes"], saved.get("encoder_state_dict")


def _head_input(layer_weights: bool):
    """What the head reads, for the baseline: every layer's pooled state side by side when the head weighs layers,
    else the last layer's; ``(N, layers + 1, hidden)`` -> ``(N, features)``."""
    return (lambda states: states.reshape(len(states), -1)) if layer_weights else (lambda states: states[:, -1])


def _train_seed(
    data: SplitData,
    seed: int,
    cfg: DistilHubertSettings,
    upstream: UpstreamChoice,
    cross: tuple[list, np.ndarray] | None,
    out: Path,
    device: torch.device | str,
) -> dict[str, tuple[dict, np.ndarray, np.ndarray | None]]:
    """One seed: train the head (and, on a frozen encoder, the logistic-regression baseline); per model, its
    history and predictions for the scored subset (``test``, or ``validation`` of a production fold without one)
    and the cross-corpus set. Saves the head to ``out``."""
    train, validation = data.subsets["train"], data.subsets["validation"]
    scored = data.subsets.get("test", validation)
    n_classes = len(data.classes)
    if not cfg.finetune:
        _, _, n_layers, hidden = train.features.shape
        torch.manual_seed(seed)
        head = PooledHead(n_layers, hidden, n_classes, **cfg.head.model_dump())
        history = train_head(head, train, validation, n_classes, cfg.train, seed, device)
        _save_head(out, head, data.classes)
        cross_states = np.stack(cross[0])[:, 0] if cross else None

        def head_labels(states: np.ndarray | None) -> np.ndarray | None:
            return None if states is None else head_probabilities(head, states).argmax(1)

        models = {"head": (history, head_labels(clean_view(scored)), head_labels(cross_states))}
        if cfg.baseline:
            head_input = _head_input(cfg.head.layer_weights)
            baseline, c = fit_logistic_regression(
                (head_input(clean_view(train)), train.labels),
                (head_input(clean_view(validation)), validation.labels),
                seed,
            )
            crossed = baseline.predict(head_input(cross_states)) if cross else None
            models["logreg"] = ({"C": c}, baseline.predict(head_input(clean_view(scored))), crossed)
        return models
    encoder = load_upstream(upstream.pretrained, whisper_input=upstream.whisper_input)
    torch.manual_seed(seed)
    head = PooledHead(encoder.num_layers + 1, encoder.hidden_size, n_classes, **cfg.head.model_dump())
    model = FineTuneModel(encoder, head)
    augment_cfg = cfg.augment if cfg.views > 0 else None
    history = train_finetune(
        model,
        (list(train.features), train.labels),
        (list(validation.features), validation.labels),
        n_classes,
        cfg.train,
        augment_cfg,
        seed,
        device,
    )
    _save_head(out, head, data.classes, encoder.model)
    predicted = finetuned_probabilities(model, list(scored.features), cfg.train.batch_size).argmax(1)
    crossed = finetuned_probabilities(model, cross[0], cfg.train.batch_size).argmax(1) if cross else None
    return {"head": (history, predicted, crossed)}


def train_fold(
    split_path: str,
    fold: str,
    corpora: dict[str, CorpusFiles],
    cross: tuple[str, CorpusFiles] | None,
    cfg: DistilHubertSettings,
    upstream: UpstreamChoice,
    run: dict,
    out_dir: str,
    out_metrics: str,
    device: torch.device | str = "cpu",
) -> None:
    """Every seed of one fold on ``device``: a head on cached encoder states (and the logistic-regression
    baseline, ``baseline``, on the CPU), or (``finetune``) encoder and head on waveforms.

    Records carry the upstream's name and ``model`` (``head``, ``logreg``).

    Scores the test subset and, when ``cross`` names a corpus and its files, the
    cross-corpus set. The ``production`` fold (Ismail's production model) has no
    test subset: its record scores the validation share that chose its epoch,
    under ``validation``, as the paper reports it; the others list each test utterance (id, speaker, emotion, and
    ``test_correct``, ``"1"`` where predicted right) for pooled scores across settings. Writes
    ``<out_dir>/seed<s>/head.pt`` (with the fine-tuned encoder's weights when fine-tuning) and a JSON list of run
    records to ``out_metrics``.
    """
    folds = read_folds(split_path)
    arrays = CorpusArrays(corpora, "waveforms" if cfg.finetune else "utterance")
    records, cross_items, production = [], None, fold == PRODUCTION_FOLD
    for seed in sorted(folds["seed"].unique().tolist()):
        data = arrays.split(folds[folds["seed"] == seed], fold, split_path, optional=("test",) if production else ())
        if cross is not None and cross_items is None:
            cross_items = _cross_subset(cross[1], cfg.label_map, data.classes, ragged=cfg.finetune)
        out = head_path(out_dir, seed)
        models = _train_seed(data, seed, cfg, upstream, cross_items, out, device)
        scored = data.subsets["validation" if production else "test"]
        for model, (history, predicted, crossed) in models.items():
            scores = {"n_test": len(scored.labels), **_scores(scored.labels, predicted, data.classes)}
            record = {
                **run,
                "upstream": upstream.name,
                "model": model,
                "fold": fold,
                "seed": seed,
                "classes": data.classes,
                "n_train": len(data.subsets["train"].labels),
                **({"n_test": 0, "validation": scores} if production else scores),
                "history": history,
                "config": cfg.train.model_dump(),
                "finetune": cfg.finetune,
                **stamp(),
            }
            if not production:
                record |= {
                    "test_utterances": scored.ids.tolist(),
                    "test_speakers": scored.speakers.tolist(),
                    "test_emotions": [data.classes[i] for i in scored.labels],
                    "test_correct": hits_string(np.asarray(predicted) == scored.labels),
                }
            if cross is not None:
                record["cross_corpus"] = {"corpus": cross[0], **_cross_scores(cross_items[1], crossed, data.classes)}
            records.append(record)
    write_json(out_metrics, records)
