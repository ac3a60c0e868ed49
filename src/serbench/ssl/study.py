"""Steps of the DistilHuBERT study (Ismail): one function per workflow rule."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import confusion_matrix, f1_score

from serbench.atomic import atomic_path, write_csv, write_json, write_text
from serbench.augment import AugmentConfig, augment
from serbench.cache import load_checkpoint, load_ragged, load_rows, save_ragged, save_rows
from serbench.corpora import read_manifest
from serbench.dataset import CorpusFiles, SplitData, load_split_data
from serbench.labels import LABEL_MAPS
from serbench.metrics import classification_scores
from serbench.protocols import add_extra_training, relabel, speaker_independent_split
from serbench.provenance import stamp
from serbench.report.tables import distinct_values
from serbench.report.ssl import int8_markdown, plot_confusion, run_rows, table1, table1_markdown
from serbench.ssl.downstream import PooledHead
from serbench.ssl.finetune import FineTuneModel, finetuned_probabilities, train_finetune
from serbench.ssl.head_training import HeadTrainConfig, clean_view, head_probabilities, train_head
from serbench.ssl.upstream import is_random_init, load_upstream, pooled_hidden_states
from serbench.waveforms import WaveformConfig, prepare_corpus

log = logging.getLogger(__name__)


def waveforms_step(manifest_path: str, out: str, cfg: WaveformConfig) -> None:
    """Prepared waveforms of a corpus (ragged cache)."""
    ids, waveforms = prepare_corpus(read_manifest(manifest_path), cfg)
    save_ragged(out, ids, waveforms)


def encoder_step(pretrained: str, out: str) -> None:
    """Load the configured encoder once, early, and describe it (the study's first rule)."""
    model, extractor = load_upstream(pretrained)
    write_json(out, {
        "pretrained": pretrained, "model_type": model.config.model_type,
        "num_hidden_layers": model.config.num_hidden_layers, "hidden_size": model.config.hidden_size,
        "n_params": sum(p.numel() for p in model.parameters()), "normalizes": bool(extractor.do_normalize),
        "random_init": is_random_init(pretrained),
    })


def embeddings_step(waveforms_path: str, pretrained: str, views: int, augment_cfg: AugmentConfig, seed: int,
                    out: str) -> None:
    """Pooled hidden states of every utterance: ``(N, 1 + views, layers + 1, hidden)``; view 0 is clean.

    Augmented view ``v`` of utterance ``i`` draws from a generator seeded with
    ``(seed, i, v)``, so a rerun reproduces the cache.
    """
    model, extractor = load_upstream(pretrained)
    ids, waveforms = load_ragged(waveforms_path)
    start, rows = time.perf_counter(), []
    for i, waveform in enumerate(waveforms):
        copies = [waveform] + [augment(waveform, 16000, augment_cfg, np.random.default_rng([seed, i, v]))
                               for v in range(1, views + 1)]
        rows.append(np.stack([pooled_hidden_states(model, extractor, w) for w in copies]))
    save_rows(out, list(ids), np.stack(rows).astype(np.float32))
    log.info("%d utterances × %d views encoded in %.1f s", len(ids), views + 1, time.perf_counter() - start)


def ssl_split_step(dataset: str, manifests: dict[str, str], extra: list[str], label_map: str, seed: int,
                   out: str, n_folds: int, group_column: str, validation_speakers: int = 1,
                   validation_fraction: float = 0.1) -> None:
    """Speaker-independent folds of ``dataset``, the ``extra`` corpora added to every training subset, relabelled."""
    tables = {name: read_manifest(path) for name, path in manifests.items()}
    folds = speaker_independent_split(tables[dataset], dataset, n_folds, seed, validation_speakers,
                                      validation_fraction, group_column)
    folds = add_extra_training(folds, {name: tables[name] for name in extra})
    write_csv(out, relabel(folds, tables, LABEL_MAPS[label_map]))


def _scores(labels: np.ndarray, predicted: np.ndarray, classes: list[str]) -> dict:
    per_class = f1_score(labels, predicted, labels=np.arange(len(classes)), average=None, zero_division=0)
    return {**classification_scores(labels, predicted), "f1_per_class": dict(zip(classes, per_class.tolist()))}


def head_step(split_path: str, fold: str, seed: int, corpora: dict[str, CorpusFiles], cross: CorpusFiles | None,
              cross_name: str, label_map: str, layer_weights: bool, head_hidden: int, dropout: float,
              cfg: HeadTrainConfig, out_head: str, out_metrics: str, run: dict) -> None:
    """Train a head on cached encoder states of one fold and seed; score test and, when given, the cross-corpus set."""
    data = load_split_data(split_path, fold, corpora)
    train, validation, test = (data.subsets[s] for s in ("train", "validation", "test"))
    _, n_views, n_layers, hidden = train.features.shape
    torch.manual_seed(seed)
    head = PooledHead(n_layers, hidden, len(data.classes), layer_weights, head_hidden, dropout)
    history = train_head(head, train, validation, len(data.classes), cfg, seed)
    metrics = _metrics(run, data, head_probabilities(head, clean_view(test)).argmax(1), history, cfg, finetune=False)
    if cross is not None:
        states, labels = _cross_subset(cross, label_map, data.classes, ragged=False)
        predicted = head_probabilities(head, np.stack(states)[:, 0]).argmax(1)
        metrics["cross_corpus"] = {"corpus": cross_name, **_cross_scores(labels, predicted, data.classes)}
    _save_head(out_head, head, data.classes)
    write_json(out_metrics, metrics)


def finetune_step(split_path: str, fold: str, seed: int, corpora: dict[str, CorpusFiles], cross: CorpusFiles | None,
                  cross_name: str, label_map: str, pretrained: str, augment_cfg: AugmentConfig | None,
                  layer_weights: bool, head_hidden: int, dropout: float, cfg: HeadTrainConfig, out_head: str,
                  out_metrics: str, run: dict) -> None:
    """Fine-tune encoder and head on the prepared waveforms of one fold and seed (``ssl.finetune: true``).

    Same scores as :func:`head_step`; the checkpoint holds the fine-tuned
    encoder's weights beside the head's.
    """
    data = load_split_data(split_path, fold, corpora, level="waveforms")
    subsets = {name: (list(s.features), s.labels) for name, s in data.subsets.items()}
    encoder, extractor = load_upstream(pretrained)
    torch.manual_seed(seed)
    head = PooledHead(encoder.config.num_hidden_layers + 1, encoder.config.hidden_size, len(data.classes),
                      layer_weights, head_hidden, dropout)
    model = FineTuneModel(encoder, head, bool(extractor.do_normalize))
    history = train_finetune(model, subsets["train"], subsets["validation"], len(data.classes), cfg, augment_cfg, seed)
    predicted = finetuned_probabilities(model, subsets["test"][0], cfg.batch_size).argmax(1)
    metrics = _metrics(run, data, predicted, history, cfg, finetune=True)
    if cross is not None:
        waveforms, labels = _cross_subset(cross, label_map, data.classes, ragged=True)
        predicted = finetuned_probabilities(model, waveforms, cfg.batch_size).argmax(1)
        metrics["cross_corpus"] = {"corpus": cross_name, **_cross_scores(labels, predicted, data.classes)}
    _save_head(out_head, head, data.classes, encoder)
    write_json(out_metrics, metrics)


def _metrics(run: dict, data: SplitData, predicted: np.ndarray, history: dict, cfg: HeadTrainConfig,
             finetune: bool) -> dict:
    test = data.subsets["test"]
    return {**run, "classes": data.classes, "n_train": len(data.subsets["train"].labels), "n_test": len(test.labels),
            **_scores(test.labels, predicted, data.classes), "history": history, "config": asdict(cfg),
            "finetune": finetune, **stamp()}


def _save_head(path: str, head: PooledHead, classes: list[str], encoder: torch.nn.Module | None = None) -> None:
    """Head weights, classes and constructor arguments; with ``encoder``, its fine-tuned weights too."""
    saved = {"state_dict": head.state_dict(), "classes": classes, "kwargs": head.init_kwargs}
    if encoder is not None:
        saved["encoder_state_dict"] = encoder.state_dict()
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(saved, tmp)


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


def load_head(path: str | Path) -> tuple[PooledHead, list[str], dict | None]:
    """A head saved by :func:`head_step` or :func:`finetune_step`, in eval mode, read once.

    Returns:
        ``(head, class names, encoder state dict)``; the state dict is the
        fine-tuned encoder's (``ssl.finetune``), ``None`` for a frozen study.
    """
    saved = load_checkpoint(path)
    head = PooledHead(**saved["kwargs"])
    head.load_state_dict(saved["state_dict"])
    return head.eval(), saved["classes"], saved.get("encoder_state_dict")


def ssl_report_step(metrics_paths: list[str], runs_out: str, table_csv: str, table_md: str,
                    confusion_png: str, encoder_json: str, config_hash: str = "") -> None:
    """Table I (per-run CSV, summary CSV and Markdown) and the cross-corpus confusion matrix plot.

    Rows of both CSVs carry the study's ``config_hash``; per-run rows also their version, commit and seed.
    """
    records = [json.loads(Path(p).read_text()) for p in metrics_paths]
    runs = run_rows(records).assign(config_hash=config_hash)
    summary = table1(runs).assign(config_hash=config_hash, seeds=distinct_values(runs["seed"]),
                                  **{c: distinct_values(runs[c]) for c in ("serbench_version", "git_commit")})
    encoder = {**json.loads(Path(encoder_json).read_text()), "finetuned": any(r.get("finetune") for r in records)}
    write_csv(runs_out, runs)
    write_csv(table_csv, summary)
    write_text(table_md, table1_markdown(summary, encoder))
    plot_confusion(records, confusion_png, encoder)


def int8_table_step(int8_json: str, latency_json: str, out: str) -> None:
    """The 8-bit model table (Markdown) from the int8 and latency measurements."""
    write_text(out, int8_markdown(json.loads(Path(int8_json).read_text()), json.loads(Path(latency_json).read_text())))
