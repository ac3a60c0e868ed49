"""Self-distillation steps (Ren et al. 2023): cache a fold's encoder states, train a variant × fold."""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import numpy as np
import torch

from serbench.atomic import atomic_path, write_json
from serbench.cache import load_ragged, save_ragged
from serbench.dataset import CorpusArrays, CorpusFiles
from serbench.errors import InputError
from serbench.folds import read_folds
from serbench.progress import progress
from serbench.provenance import stamp
from serbench.settings.names import ExitVariant
from serbench.settings.selfdistill import SelfDistillSettings, SelfDistillUpstream
from serbench.settings.steps import SelfDistillStatesSettings
from serbench.ssl.encoders import SAMPLE_RATE, Upstream
from serbench.ssl.upstream import UpstreamChoice, is_random_init, load_upstream
from serbench.studies.selfdistill.model import SelfDistillModel
from serbench.studies.selfdistill.training import (
    Feed,
    Utterances,
    exit_logits,
    score_exits,
    tile,
    train_self_distillation,
)

log = logging.getLogger(__name__)


def model_path(folder: str | Path, seed: int) -> Path:
    """One run's model file in a variant's fold folder: ``<folder>/seed<seed>/model.pt``."""
    return Path(folder, f"seed{seed}", "model.pt")


def cached_layers(spec: SelfDistillUpstream) -> tuple[int, ...]:
    """The layers a frozen encoder's cache keeps: every exit's (and baseline depth's) and the teacher's."""
    return tuple(sorted({*spec.exit_layers, spec.layers}))


def open_upstream(
    spec: SelfDistillUpstream, cfg: SelfDistillSettings | SelfDistillStatesSettings, whisper_input: str
) -> Upstream:
    """The upstream of ``spec``, its depth checked, LayerDrop as ``cfg.layerdrop`` says, frozen unless fine-tuned.

    Raises:
        ValueError: the encoder has another number of layers than ``spec.layers`` (the message names the key).
    """
    upstream = load_upstream(spec.pretrained, "selfdistill.upstreams", whisper_input)
    if upstream.num_layers != spec.layers:
        raise InputError(
            f"selfdistill.upstreams: {spec.pretrained} has {upstream.num_layers} layers, the config says "
            f"layers: {spec.layers}"
        )
    if cfg.layerdrop == "off":
        upstream.layerdrop = 0.0
    upstream.requires_grad_(cfg.finetune)
    return upstream


def build_model(
    upstream: Upstream, spec: SelfDistillUpstream, variant: str, n_classes: int, cfg: SelfDistillSettings
) -> SelfDistillModel:
    """Teacher and student heads on ``upstream`` per variant; a baseline's teacher sits at its depth, no exits."""
    parsed = ExitVariant.parse(variant)
    heads = {"head_hidden": cfg.head_hidden, "style": cfg.blocks, "inner_relu": cfg.head_relu, "init": cfg.init}
    if parsed.depth is not None:
        return SelfDistillModel(upstream, n_classes, (), "conv", depth=parsed.depth, **heads)
    return SelfDistillModel(upstream, n_classes, spec.exit_layers, parsed.block, **heads)


def make_feed(cfg: SelfDistillSettings, spec: SelfDistillUpstream) -> Feed:
    """The study's :class:`Feed`: cached states of a frozen encoder, or tiled (padded) waveforms."""
    if not cfg.finetune:
        return Feed(cached_layers=cached_layers(spec))
    if cfg.batching == "tile":
        return Feed(tile_samples=int(round(cfg.clip_seconds * SAMPLE_RATE)))
    return Feed(min_samples=int(cfg.train.min_seconds * SAMPLE_RATE))


@torch.no_grad()
def encode_states(
    waveforms_path: str,
    spec: SelfDistillUpstream,
    cfg: SelfDistillStatesSettings,
    whisper_input: str,
    out: str,
    device: torch.device | str = "cpu",
) -> None:
    """A frozen encoder's hidden states of every clip (tiled as the study batches them), the layers of
    :func:`cached_layers` side by side: ``(frames, layers * hidden)`` float16 per utterance, ragged; the encoder
    runs on ``device``."""
    upstream = open_upstream(spec, cfg, whisper_input).eval().to(device)
    layers, samples = cached_layers(spec), int(round(cfg.clip_seconds * SAMPLE_RATE))
    ids, waveforms = load_ragged(waveforms_path)
    rows = []
    for waveform in progress(waveforms, "encode", "utterance"):
        clip = torch.from_numpy(tile(waveform, samples) if cfg.batching == "tile" else waveform)[None].to(device)
        hidden, _ = upstream(clip, torch.tensor([clip.shape[1]], device=device), depth=spec.layers)
        rows.append(torch.cat([hidden[layer][0] for layer in layers], dim=1).half().cpu().numpy())
    save_ragged(out, list(ids), rows)


def train_fold(
    split_path: str,
    fold: str,
    corpora: dict[str, CorpusFiles],
    variant: str,
    cfg: SelfDistillSettings,
    upstream: UpstreamChoice,
    run: dict,
    out_dir: str,
    out_metrics: str,
    device: torch.device | str = "cpu",
) -> None:
    """Train one variant on every seed of one fold on ``device``; score every exit on validation and test.

    ``upstream`` is one of ``cfg.upstreams``; ``corpora`` hold its waveforms, or its cached states when the encoder
    is frozen (``finetune: false``).

    ``selection: retrain`` (the paper): train ``epochs`` epochs on the training
    subset and score validation with the last epoch's model; then train a fresh
    model as long on training + validation and score test with it.
    ``best_epoch``: one model, the teacher's best validation epoch, scores both.
    Writes ``<out_dir>/seed<s>/model.pt`` (the tested model) and a JSON list of run records to ``out_metrics``.
    """
    folds = read_folds(split_path)
    arrays = CorpusArrays(corpora, "waveforms")
    spec = cfg.upstream(upstream.name)
    encoder = open_upstream(spec, cfg, upstream.whisper_input)
    feed, similarity = make_feed(cfg, spec), ExitVariant.parse(variant).similarity or ("l2",)
    records = []
    for seed in sorted(folds["seed"].unique().tolist()):
        data = arrays.split(folds[folds["seed"] == seed], fold, split_path)
        subsets = {name: Utterances(list(s.features), s.labels) for name, s in data.subsets.items()}

        args = (encoder, spec, variant, len(data.classes), cfg, device)
        model = _train(*args, subsets["train"], subsets["validation"], similarity, seed, feed)
        history = model.history
        scores = {"validation": _scores(model, subsets["validation"], cfg.train.batch_size, feed)}
        if cfg.train.selection == "retrain":
            both = Utterances(
                subsets["train"].items + subsets["validation"].items,
                np.concatenate([subsets["train"].labels, subsets["validation"].labels]),
            )
            model = _train(*args, both, None, similarity, seed, feed)
            history = {**history, "retrain": model.history}
        scores["test"] = _scores(model, subsets["test"], cfg.train.batch_size, feed)
        state = {k: v.cpu() for k, v in model.state_dict().items() if cfg.finetune or not k.startswith("upstream.")}
        with atomic_path(model_path(out_dir, seed), suffix=".pt") as tmp:
            torch.save({"state_dict": state, "variant": variant, "classes": data.classes}, tmp)
        records.append(
            {
                **run,
                "upstream": upstream.name,
                "random_init": is_random_init(spec.pretrained),
                "finetune": cfg.finetune,
                "fold": fold,
                "seed": seed,
                "variant": variant,
                "teacher_depth": model.depth,
                "classes": data.classes,
                "scores": scores,
                "history": history,
                "similarity": list(similarity),
                "loss": cfg.loss.model_dump(),
                "train": cfg.train.model_dump(),
                **stamp(),
            }
        )
    write_json(out_metrics, records)


def _train(
    encoder: Upstream,
    spec: SelfDistillUpstream,
    variant: str,
    n_classes: int,
    cfg: SelfDistillSettings,
    device: torch.device | str,
    train: Utterances,
    validation: Utterances | None,
    similarity: tuple[str, ...],
    seed: int,
    feed: Feed,
) -> SelfDistillModel:
    """A fresh model of ``variant`` trained on ``train`` on ``device`` (its own copy of the encoder when
    fine-tuned); its history as ``model.history``."""
    torch.manual_seed(seed)
    model = build_model(copy.deepcopy(encoder) if cfg.finetune else encoder, spec, variant, n_classes, cfg)
    model.to(device)
    model.history = train_self_distillation(model, train, validation, cfg.loss, similarity, cfg.train, seed, feed)
    return model


def _scores(model: SelfDistillModel, subset: Utterances, batch_size: int, feed: Feed) -> dict:
    return score_exits(exit_logits(model, subset.items, batch_size, feed), subset.labels)
