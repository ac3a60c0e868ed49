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
from serbench.cache import load_checkpoint, load_ragged, load_rows, save_rows
from serbench.corpora import read_manifest
from serbench.dataset import CorpusArrays, CorpusFiles, SplitData
from serbench.folds import read_folds
from serbench.labels import LABEL_MAPS
from serbench.metrics import classification_scores
from serbench.protocols import PRODUCTION_FOLD
from serbench.provenance import stamp
from serbench.settings.ssl import AugmentSettings, DistilHubertSettings
from serbench.ssl.upstream import load_upstream, pooled_hidden_states
from serbench.studies.distilhubert.augment import augment
from serbench.studies.distilhubert.finetune import FineTuneModel, finetuned_probabilities, train_finetune
from serbench.studies.distilhubert.head import PooledHead, clean_view, head_probabilities, train_head

log = logging.getLogger(__name__)


def embeddings(
    waveforms_path: str, pretrained: str, views: int, augment_cfg: AugmentSettings, seed: int, out: str
) -> None:
    """Pooled hidden states of every utterance: ``(N, 1 + views, layers + 1, hidden)``; view 0 is clean.

    Augmented view ``v`` of utterance ``i`` draws from a generator seeded with
    ``(seed, i, v)``, so a rerun reproduces the cache.
    """
    model, extractor = load_upstream(pretrained)
    ids, waveforms = load_ragged(waveforms_path)
    start, rows = time.perf_counter(), []
    for i, waveform in enumerate(waveforms):
        copies = [waveform] + [
            augment(waveform, 16000, augment_cfg, np.random.default_rng([seed, i, v])) for v in range(1, views + 1)
        ]
        rows.append(np.stack([pooled_hidden_states(model, extractor, w) for w in copies]))
    save_rows(out, list(ids), np.stack(rows).astype(np.float32))
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


def _train_seed(
    data: SplitData, seed: int, cfg: DistilHubertSettings, cross: tuple[list, np.ndarray] | None, out: Path
) -> tuple[dict, np.ndarray, np.ndarray | None]:
    """One seed: train, then predictions for the scored subset (``test``, or ``validation`` of a production fold
    without one) and the cross-corpus set; saves ``out``."""
    train, validation = data.subsets["train"], data.subsets["validation"]
    scored = data.subsets.get("test", validation)
    n_classes = len(data.classes)
    if not cfg.finetune:
        _, _, n_layers, hidden = train.features.shape
        torch.manual_seed(seed)
        head = PooledHead(n_layers, hidden, n_classes, **cfg.head.model_dump())
        history = train_head(head, train, validation, n_classes, cfg.train, seed)
        _save_head(out, head, data.classes)
        crossed = head_probabilities(head, np.stack(cross[0])[:, 0]).argmax(1) if cross else None
        return history, head_probabilities(head, clean_view(scored)).argmax(1), crossed
    encoder, extractor = load_upstream(cfg.pretrained)
    torch.manual_seed(seed)
    head = PooledHead(
        encoder.config.num_hidden_layers + 1, encoder.config.hidden_size, n_classes, **cfg.head.model_dump()
    )
    model = FineTuneModel(encoder, head, bool(extractor.do_normalize))
    augment_cfg = cfg.augment if cfg.views > 0 else None
    history = train_finetune(
        model,
        (list(train.features), train.labels),
        (list(validation.features), validation.labels),
        n_classes,
        cfg.train,
        augment_cfg,
        seed,
    )
    _save_head(out, head, data.classes, encoder)
    predicted = finetuned_probabilities(model, list(scored.features), cfg.train.batch_size).argmax(1)
    crossed = finetuned_probabilities(model, cross[0], cfg.train.batch_size).argmax(1) if cross else None
    return history, predicted, crossed


def train_fold(
    split_path: str,
    fold: str,
    corpora: dict[str, CorpusFiles],
    cross: tuple[str, CorpusFiles] | None,
    cfg: DistilHubertSettings,
    run: dict,
    out_dir: str,
    out_metrics: str,
) -> None:
    """Every seed of one fold: a head on cached encoder states, or (``finetune``) encoder and head on waveforms.

    Scores the test subset and, when ``cross`` names a corpus and its files, the
    cross-corpus set. The ``production`` fold (Ismail's production model) has no
    test subset: its record scores the validation share that chose its epoch,
    under ``validation``, as the paper reports it. Writes ``<out_dir>/seed<s>/head.pt`` (with the fine-tuned
    encoder's weights when fine-tuning) and a JSON list of run records to ``out_metrics``.
    """
    folds = read_folds(split_path)
    arrays = CorpusArrays(corpora, "waveforms" if cfg.finetune else "utterance")
    records, cross_items, production = [], None, fold == PRODUCTION_FOLD
    for seed in sorted(folds["seed"].unique().tolist()):
        data = arrays.split(folds[folds["seed"] == seed], fold, split_path, optional=("test",) if production else ())
        if cross is not None and cross_items is None:
            cross_items = _cross_subset(cross[1], cfg.label_map, data.classes, ragged=cfg.finetune)
        history, predicted, crossed = _train_seed(data, seed, cfg, cross_items, Path(out_dir, f"seed{seed}", "head.pt"))
        scored = data.subsets["validation" if production else "test"]
        scores = {"n_test": len(scored.labels), **_scores(scored.labels, predicted, data.classes)}
        record = {
            **run,
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
        if cross is not None:
            record["cross_corpus"] = {"corpus": cross[0], **_cross_scores(cross_items[1], crossed, data.classes)}
        records.append(record)
    write_json(out_metrics, records)
