"""Self-distillation steps (Ren et al. 2023): train a variant × fold, export its exits to ONNX, time them."""

from __future__ import annotations

import copy
import logging
import tempfile
from pathlib import Path

import numpy as np
import torch

from serbench.atomic import atomic_path, write_json
from serbench.cache import load_ragged, save_ragged
from serbench.dataset import CorpusArrays, CorpusFiles, load_split_data
from serbench.errors import InputError
from serbench.folds import read_folds
from serbench.metrics import unweighted_average_recall
from serbench.progress import progress
from serbench.provenance import stamp
from serbench.settings.names import ExitVariant
from serbench.settings.selfdistill import SelfDistillSettings, SelfDistillUpstream
from serbench.settings.ssl import WaveformSettings
from serbench.settings.steps import SelfDistillStatesSettings
from serbench.ssl.encoders import SAMPLE_RATE, Upstream
from serbench.ssl.latency import MB, measure_latency, median_latency, noise_clips
from serbench.ssl.onnx_export import export_onnx, onnx_session, quantize_int8
from serbench.ssl.upstream import UpstreamChoice, is_random_init, load_upstream, upstream_record
from serbench.step_files import load_checkpoint
from serbench.studies.selfdistill.model import AllExitsModel, ExitHead, ExitModel, SelfDistillModel
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


def int8_exits(
    model_path: str,
    cfg: SelfDistillSettings,
    upstream: UpstreamChoice,
    split_path: str,
    fold: str,
    seed: int,
    corpora: dict[str, CorpusFiles],
    waveform: WaveformSettings,
    out: str,
    out_model: str,
) -> None:
    """Every exit of a trained model as float and int8 ONNX: file sizes (MB) and test UAR of each; the int8 model
    of every exit in one graph (``out_model``), deployable with ``serbench predict``.

    The int8 exits are ONNX Runtime's quantization in ``cfg.int8_scheme`` (static and mixed calibrated on the first
    ``calibration_utterances`` training utterances of the fold). ``corpora`` hold waveforms, fed as the
    study batches them (tiled when ``batching: tile``). ``out_model`` outputs ``(exits + 1, 1, classes)`` logits,
    exits in layer order and the teacher last; its metadata (:func:`deployment_metadata`) says how to prepare a
    waveform for it.
    """
    saved = load_checkpoint(model_path)
    spec = cfg.upstream(upstream.name)
    encoder = open_upstream(spec, cfg, upstream.whisper_input)
    model = build_model(encoder, spec, saved["variant"], len(saved["classes"]), cfg)
    model.load_state_dict(saved["state_dict"], strict=cfg.finetune)
    data = load_split_data(split_path, fold, corpora, level="waveforms", seed=seed)
    samples = int(round(cfg.clip_seconds * SAMPLE_RATE))

    def clips(subset, count=None) -> list[np.ndarray]:
        chosen = list(subset.features[:count])
        return [tile(w, samples) for w in chosen] if cfg.batching == "tile" else chosen

    test = clips(data.subsets["test"])
    calibration = clips(data.subsets["train"], cfg.calibration_utterances)  # read by the calibrated schemes only
    exits = {str(a): (a, model.students[str(a)]) for a in model.exit_layers} | {"teacher": (model.depth, model.teacher)}
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (depth, head) in exits.items():  # each exit's own files: what it would deploy
            exit_model = ExitModel(model.upstream, depth, head).eval()
            float_path, int8_path = Path(tmp) / f"{name}.onnx", Path(tmp) / f"{name}.int8.onnx"
            rows[name] = {
                "depth": depth,
                "n_params": exit_model.n_params,
                "float_mb": export_onnx(exit_model, float_path, seconds=2.0) / MB,
                "int8_mb": quantize_int8(float_path, int8_path, cfg.int8_scheme, calibration) / MB,
            }
        float_path, int8_path = Path(tmp) / "all.onnx", Path(out_model)
        metadata = deployment_metadata(cfg, waveform, saved["classes"], list(exits), spec.pretrained)
        export_onnx(AllExitsModel(model).eval(), float_path, seconds=2.0, metadata=metadata)
        quantize_int8(float_path, int8_path, cfg.int8_scheme, calibration)
        for kind, path in (("float", float_path), ("int8", int8_path)):
            session = onnx_session(path)
            feeds = ({"waveform": w[None, :].astype(np.float32)} for w in test)
            logits = np.concatenate([session.run(None, feed)[0] for feed in feeds], axis=1)  # (exits + 1, N, classes)
            for name, exit_logits_ in zip(exits, logits):
                rows[name][f"uar_{kind}"] = unweighted_average_recall(
                    data.subsets["test"].labels, exit_logits_.argmax(1)
                )
    record = {"model": model_path, "upstream": upstream.name, "int8_scheme": cfg.int8_scheme, "file": out_model}
    write_json(out, record | {"exits": rows})


def deployment_metadata(
    cfg: SelfDistillSettings, waveform: WaveformSettings, classes: list[str], exits: list[str], pretrained: str
) -> dict:
    """What :class:`serbench.studies.selfdistill.predict.ExitsPredictor` needs to prepare a file as the study
    prepared its training clips: the class names, the exits in output order, the waveform preparation (``raw``:
    16 kHz as read; ``ismail``: the shared section's trim, pre-emphasis, peak and cut), the batching (``tile``: clips
    tiled or cut to ``clip_seconds``), the upstream and whether its weights are random."""
    return {
        "study": "selfdistill",
        "classes": list(classes),
        "exits": exits,
        "preparation": cfg.waveform_cache,
        "waveform": waveform.model_dump(mode="json"),
        "batching": cfg.batching,
        "clip_seconds": cfg.clip_seconds,
        "int8_scheme": cfg.int8_scheme,
        **upstream_record(pretrained),
    }


def exit_latency(
    pretrained: str,
    exit_layers: list[int],
    block: str,
    n_classes: int,
    seconds: float,
    repeats: int,
    threads: list[int],
    out: str,
    whisper_input: str = "clip",
    int8_scheme: str = "static",
) -> None:
    """Parameters, bytes and CPU latency per clip of every exit of an upstream (its own weights), in one run.

    Each exit (encoder run to its layer + its head) runs in PyTorch float, ONNX float and ONNX int8 in
    ``int8_scheme`` (:func:`serbench.ssl.latency.measure_latency`, calibrated on four noise clips: sizes and latency
    do not depend on the calibration values), at every thread count; the teacher runs every layer.
    ``compute_bound_s`` is the time of the parts an exit cannot skip, timed alone: the front-end plus its
    transformer layers, PyTorch float.
    """
    encoder = load_upstream(pretrained, "selfdistill.upstreams", whisper_input).eval()
    samples = int(seconds * SAMPLE_RATE)
    timed, *calibration = noise_clips(seconds, 5, seed=0)
    clip = torch.from_numpy(timed)[None]
    rows = {}
    for name, layer, kind in [*((str(a), a, block) for a in exit_layers), ("teacher", encoder.num_layers, "none")]:
        torch.manual_seed(0)
        model = ExitModel(encoder, layer, ExitHead(kind, encoder.hidden_size, n_classes)).eval()
        timing = measure_latency(model, calibration, seconds, repeats, threads, (int8_scheme,))
        row = {"depth": layer} | timing.to_json()
        row["compute_bound_s"] = {}
        for count in threads:
            torch.set_num_threads(count)
            with torch.no_grad():
                bound = lambda d=layer: encoder(clip, torch.tensor([samples]), depth=d)  # noqa: E731
                row["compute_bound_s"][count] = median_latency(bound, repeats)
        rows[name] = row
    meta = upstream_record(pretrained) | {"block": block, "int8_scheme": int8_scheme}
    meta |= {"clip_seconds": seconds, "threads": threads}
    write_json(out, meta | {"exits": rows})
