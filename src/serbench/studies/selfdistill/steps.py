"""Workflow steps of the self-distillation study (Ren et al. 2023): train every seed of one variant and fold,
export every exit to float and int8 ONNX, measure each exit's latency (report: :mod:`.report`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel

from serbench.atomic import atomic_path, write_json
from serbench.cache import load_checkpoint
from serbench.dataset import CorpusArrays, CorpusFiles, load_split_data
from serbench.folds import read_folds
from serbench.metrics import unweighted_average_recall
from serbench.provenance import stamp
from serbench.settings.ssl import SelfDistillSettings
from serbench.ssl.onnx_export import export_onnx, median_latency, onnx_session, quantize_int8, run_onnx
from serbench.ssl.upstream import NORMALIZES, build_config, load_upstream
from serbench.studies.selfdistill.model import ExitHead, ExitModel, SelfDistillModel, truncate_encoder
from serbench.studies.selfdistill.training import exit_logits, score_exits, train_self_distillation

MB = 1_000_000


def parse_variant(variant: str) -> dict:
    """``conv-l2`` -> block and similarity terms; ``baseline-8`` -> a fine-tuned-only model of depth 8.

    >>> parse_variant("lstm-l2+cosine")
    {'block': 'lstm', 'similarity': ('l2', 'cosine'), 'depth': None}
    >>> parse_variant("baseline-3")
    {'block': None, 'similarity': (), 'depth': 3}

    Raises:
        ValueError: neither form.
    """
    kind, _, rest = variant.partition("-")
    if kind == "baseline" and rest.isdigit():
        return {"block": None, "similarity": (), "depth": int(rest)}
    if kind in ("conv", "lstm", "gru") and rest:
        return {"block": kind, "similarity": tuple(rest.split("+")), "depth": None}
    raise ValueError(f"unknown self-distillation variant {variant!r}; expected BLOCK-SIM[+SIM] or baseline-DEPTH")


def build_model(
    pretrained: str,
    variant: str,
    exit_layers: tuple[int, ...],
    n_classes: int,
    head_hidden: int,
    blocks: str = "authors",
    head_relu: bool = False,
) -> SelfDistillModel:
    """The encoder (truncated for baselines) with teacher and student heads, per variant (``blocks``,
    ``head_relu``: :class:`~serbench.studies.selfdistill.model.ExitHead`'s ``style`` and ``inner_relu``)."""
    spec = parse_variant(variant)
    encoder, extractor = load_upstream(pretrained, "selfdistill.pretrained")
    encoder.config.layerdrop = 0.0  # students read fixed layers: LayerDrop's random skips would shift them
    normalize = bool(extractor.do_normalize)
    heads = {"head_hidden": head_hidden, "normalize": normalize, "style": blocks, "inner_relu": head_relu}
    if spec["depth"] is not None:
        return SelfDistillModel(truncate_encoder(encoder, spec["depth"]), n_classes, (), "conv", **heads)
    return SelfDistillModel(encoder, n_classes, exit_layers, spec["block"], **heads)


def train_fold(
    split_path: str,
    fold: str,
    corpora: dict[str, CorpusFiles],
    variant: str,
    cfg: SelfDistillSettings,
    run: dict,
    out_dir: str,
    out_metrics: str,
) -> None:
    """Fine-tune one variant on every seed of one fold; score every exit on validation and test.

    ``selection: retrain`` (the paper): train ``epochs`` epochs on the training
    subset and score validation with the last epoch's model; then train a fresh
    model as long on training + validation and score test with it.
    ``best_epoch``: one model, the teacher's best validation epoch, scores both.
    Writes ``<out_dir>/seed<s>/model.pt`` (the tested model) and a JSON list of run records to ``out_metrics``.
    """
    folds = read_folds(split_path)
    arrays = CorpusArrays(corpora, "waveforms")
    spec = parse_variant(variant)
    similarity = spec["similarity"] or ("l2",)
    records = []
    for seed in sorted(folds["seed"].unique().tolist()):
        data = arrays.split(folds[folds["seed"] == seed], fold, split_path)
        subsets = {name: (list(s.features), s.labels) for name, s in data.subsets.items()}
        model = _train(cfg, variant, len(data.classes), subsets["train"], subsets["validation"], similarity, seed)
        history = model.history
        min_samples = int(cfg.train.min_seconds * 16000)
        scores = {"validation": _scores(model, subsets["validation"], cfg.train.batch_size, min_samples)}
        if cfg.train.selection == "retrain":
            both = (
                subsets["train"][0] + subsets["validation"][0],
                np.concatenate([subsets["train"][1], subsets["validation"][1]]),
            )
            model = _train(cfg, variant, len(data.classes), both, None, similarity, seed)
            history = {**history, "retrain": model.history}
        scores["test"] = _scores(model, subsets["test"], cfg.train.batch_size, min_samples)
        depth = spec["depth"] or model.encoder.config.num_hidden_layers
        with atomic_path(Path(out_dir, f"seed{seed}", "model.pt"), suffix=".pt") as tmp:
            torch.save(
                {
                    "state_dict": model.state_dict(),
                    "variant": variant,
                    "exit_layers": list(model.exit_layers),
                    "classes": data.classes,
                    "head_hidden": cfg.head_hidden,
                    "blocks": cfg.blocks,
                    "head_relu": cfg.head_relu,
                    "teacher_depth": depth,
                },
                tmp,
            )
        records.append(
            {
                **run,
                "fold": fold,
                "seed": seed,
                "variant": variant,
                "teacher_depth": depth,
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
    cfg: SelfDistillSettings,
    variant: str,
    n_classes: int,
    train: tuple[list, np.ndarray],
    validation: tuple[list, np.ndarray] | None,
    similarity: tuple[str, ...],
    seed: int,
) -> SelfDistillModel:
    """A fresh model of ``variant`` fine-tuned on ``train``; its history as ``model.history``."""
    torch.manual_seed(seed)
    model = build_model(cfg.pretrained, variant, cfg.exit_layers, n_classes, cfg.head_hidden, cfg.blocks, cfg.head_relu)
    model.history = train_self_distillation(model, train, validation, cfg.loss, similarity, cfg.train, seed)
    return model


def _scores(model: SelfDistillModel, subset: tuple[list, np.ndarray], batch_size: int, min_samples: int) -> dict:
    return score_exits(exit_logits(model, subset[0], batch_size, min_samples), subset[1])


def int8_exits(
    model_path: str,
    pretrained: str,
    split_path: str,
    fold: str,
    seed: int,
    corpora: dict[str, CorpusFiles],
    out: str,
    calibration_utterances: int = 32,
) -> None:
    """Every exit of a trained model as float and static int8 ONNX: file sizes (MB) and test UAR of each.

    The int8 exits are ONNX Runtime's static QDQ quantization (Conv + MatMul,
    per-channel weights), calibrated on the first ``calibration_utterances``
    training utterances of the fold.
    """
    saved = load_checkpoint(model_path)
    model = build_model(
        pretrained,
        saved["variant"],
        tuple(saved["exit_layers"]),
        len(saved["classes"]),
        saved["head_hidden"],
        saved["blocks"],
        saved["head_relu"],
    )
    model.load_state_dict(saved["state_dict"])
    data = load_split_data(split_path, fold, corpora, level="waveforms", seed=seed)
    test, calibration = data.subsets["test"], list(data.subsets["train"].features[:calibration_utterances])
    exits = {str(a): (a, model.students[str(a)]) for a in model.exit_layers}
    exits["teacher"] = (saved["teacher_depth"], model.teacher)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (depth, head) in exits.items():
            exit_model = ExitModel(
                model.encoder, min(depth, len(model.encoder.encoder.layers)), head, model.normalize
            ).eval()
            float_bytes = export_onnx(exit_model, Path(tmp) / f"{name}.onnx", seconds=2.0)
            int8_bytes = quantize_int8(
                Path(tmp) / f"{name}.onnx", Path(tmp) / f"{name}.int8.onnx", "static", calibration
            )
            rows[name] = {
                "depth": depth,
                "n_params": sum(p.numel() for p in exit_model.parameters()),
                "float_mb": float_bytes / MB,
                "int8_mb": int8_bytes / MB,
            }
            for kind in ("float", "int8"):
                session = onnx_session(Path(tmp) / (f"{name}.onnx" if kind == "float" else f"{name}.int8.onnx"))
                predicted = [run_onnx(session, w).argmax() for w in test.features]
                rows[name][f"uar_{kind}"] = unweighted_average_recall(test.labels, predicted)
    write_json(out, {"model": model_path, "exits": rows})


def exit_latency(
    architecture: str,
    exit_layers: list[int],
    block: str,
    n_classes: int,
    seconds: float,
    repeats: int,
    threads: list[int],
    out: str,
) -> None:
    """Parameters, bytes and CPU latency per clip of every exit of the full-size architecture (random weights).

    Each exit (encoder truncated at its layer + its head) runs in PyTorch float,
    ONNX float and ONNX int8 static (calibrated on four noise clips: sizes and
    latency do not depend on the calibration values), at every thread count, in
    one run. ``compute_bound_s`` is the time of the parts an exit cannot skip,
    timed alone: the convolutional front-end plus its transformer layers, PyTorch
    float. Keys per exit: ``latency_<runtime>_s`` (``{threads: seconds}``) and
    ``<runtime>_mb`` (MB = 10^6 bytes) for ``onnx_float``, ``onnx_int8_static``.
    """
    torch.manual_seed(0)
    encoder = AutoModel.from_config(build_config(architecture)).eval()
    hidden, depth = encoder.config.hidden_size, encoder.config.num_hidden_layers
    rng = np.random.default_rng(0)
    clip = rng.uniform(-0.5, 0.5, int(seconds * 16000)).astype(np.float32)
    calibration = [rng.uniform(-0.5, 0.5, int(seconds * 16000)).astype(np.float32) for _ in range(4)]
    tensor = torch.from_numpy(clip)[None, :]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, layer, kind in [*((str(a), a, block) for a in exit_layers), ("teacher", depth, "none")]:
            model = ExitModel(encoder, layer, ExitHead(kind, hidden, n_classes), NORMALIZES[architecture]).eval()
            float_path, int8_path = Path(tmp) / f"{name}.onnx", Path(tmp) / f"{name}.int8.onnx"
            row = {"depth": layer, "n_params": sum(p.numel() for p in model.parameters())}
            row["onnx_float_mb"] = export_onnx(model, float_path, seconds) / MB
            row["onnx_int8_static_mb"] = quantize_int8(float_path, int8_path, "static", calibration) / MB
            for runtime in ("pytorch_float", "onnx_float", "onnx_int8_static"):
                row[f"latency_{runtime}_s"] = {}
            row["compute_bound_s"] = {}
            for count in threads:
                torch.set_num_threads(count)
                with torch.no_grad():
                    row["latency_pytorch_float_s"][count] = median_latency(lambda m=model: m(tensor), repeats)
                    row["compute_bound_s"][count] = median_latency(lambda m=model: m.encoder(tensor), repeats)
                for runtime, path in (("onnx_float", float_path), ("onnx_int8_static", int8_path)):
                    session = onnx_session(path, count)
                    row[f"latency_{runtime}_s"][count] = median_latency(lambda s=session: run_onnx(s, clip), repeats)
            rows[name] = row
    write_json(
        out,
        {
            "architecture": architecture,
            "random_weights": True,
            "block": block,
            "clip_seconds": seconds,
            "threads": threads,
            "repeats": repeats,
            "exits": rows,
        },
    )
