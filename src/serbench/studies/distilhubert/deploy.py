"""The study's 8-bit model: int8 encoder over the test folds, deployable ONNX files, and size/latency."""

from __future__ import annotations

import copy
import logging
import tempfile
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel

from serbench.atomic import write_json
from serbench.dataset import CorpusFiles, load_split_data
from serbench.folds import read_folds
from serbench.metrics import unweighted_average_recall
from serbench.settings.ssl import HeadSettings
from serbench.ssl.onnx_export import (
    WaveformEncoder,
    export_onnx,
    median_latency,
    onnx_session,
    quantize_int8,
    run_onnx,
)
from serbench.ssl.upstream import NORMALIZES, build_config, load_upstream
from serbench.studies.distilhubert.head import PooledHead, head_probabilities
from serbench.studies.distilhubert.steps import load_head

log = logging.getLogger(__name__)
MB = 1_000_000


def int8(
    pretrained: str,
    heads: list[tuple[str, str, str, int]],
    corpora: dict[str, CorpusFiles],
    out_dir: str,
    out_json: str,
) -> None:
    """UA of every fold's model with a float vs an int8 ONNX encoder, and deployable float/int8 ONNX models.

    A frozen study shares one encoder, exported once; a fine-tuned study
    (``distilhubert.finetune``) exports each head's own encoder. Each test utterance
    is encoded by both ONNX encoders and scored by the head.

    Args:
        pretrained: the study's encoder.
        heads: ``(head_path, split_path, fold, seed)`` per trained head.
        corpora: manifest and prepared-waveform cache per corpus of the folds.
        out_dir: receives ``encoder.onnx``, ``encoder.int8.onnx`` (the first head's encoder), ``model.onnx``
            and ``model.int8.onnx`` (that encoder + the first head, class names in the metadata), the latter
            for ``serbench predict``.
        out_json: sizes (MB = 10^6 bytes) and per-head UA before/after.
    """
    base, extractor = load_upstream(pretrained)
    normalize, out = bool(extractor.do_normalize), Path(out_dir)
    first_head, classes, first_state = load_head(heads[0][0])
    first_encoder = _with_state(base, first_state)
    float_bytes = export_onnx(WaveformEncoder(first_encoder, normalize), out / "encoder.onnx")
    int8_bytes = quantize_int8(out / "encoder.onnx", out / "encoder.int8.onnx")
    shared = {kind: onnx_session(out / f"encoder{suffix}.onnx") for kind, suffix in (("float", ""), ("int8", ".int8"))}
    states: dict[tuple[str, str, str], np.ndarray] = {}  # (encoder, kind, utterance) -> (layers + 1, hidden)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, (head_path, split_path, fold, seed) in enumerate(heads):
            head, _, encoder_state = load_head(head_path)
            sessions, key = shared, "shared"
            if index > 0 and encoder_state is not None:
                sessions, key = _encoder_sessions(_with_state(base, encoder_state), normalize, Path(tmp)), head_path
            test = load_split_data(split_path, fold, corpora, level="waveforms", seed=seed).subsets["test"]
            corpus_of = _corpus_of(split_path, fold, seed)
            row = {"head": head_path, "fold": fold, "seed": seed, "n_test": len(test.ids)}
            for kind, session in sessions.items():
                for utterance, waveform in zip(test.ids, test.features):
                    cached = (key, kind, f"{corpus_of[utterance]}/{utterance}")
                    if cached not in states:
                        states[cached] = run_onnx(session, waveform)
                encoded = np.stack([states[(key, kind, f"{corpus_of[u]}/{u}")] for u in test.ids])
                row[f"uar_{kind}"] = unweighted_average_recall(test.labels, head_probabilities(head, encoded).argmax(1))
            rows.append(row)
    metadata = {"classes": classes, "sample_rate": 16000, "window_seconds": 8.0}
    export_onnx(WaveformEncoder(first_encoder, normalize, first_head), out / "model.onnx", metadata=metadata)
    quantize_int8(out / "model.onnx", out / "model.int8.onnx")
    uar_float, uar_int8 = np.array([r["uar_float"] for r in rows]), np.array([r["uar_int8"] for r in rows])
    write_json(
        out_json,
        {
            "pretrained": pretrained,
            "encoder_float_mb": float_bytes / MB,
            "encoder_int8_mb": int8_bytes / MB,
            "uar_float_mean": uar_float.mean(),
            "uar_float_std": uar_float.std(ddof=1) if len(rows) > 1 else 0.0,
            "uar_int8_mean": uar_int8.mean(),
            "uar_int8_std": uar_int8.std(ddof=1) if len(rows) > 1 else 0.0,
            "heads": rows,
        },
    )


def _with_state(base: torch.nn.Module, state: dict | None) -> torch.nn.Module:
    """``base`` itself for a frozen study, else a copy carrying a head's fine-tuned encoder weights; eval mode."""
    if state is None:
        return base.eval()
    encoder = copy.deepcopy(base)
    encoder.load_state_dict(state)
    return encoder.eval()


def _encoder_sessions(encoder: torch.nn.Module, normalize: bool, folder: Path) -> dict:
    """Float and int8 ONNX sessions of one (fine-tuned) encoder, exported into ``folder``."""
    export_onnx(WaveformEncoder(encoder, normalize), folder / "encoder.onnx")
    quantize_int8(folder / "encoder.onnx", folder / "encoder.int8.onnx")
    return {"float": onnx_session(folder / "encoder.onnx"), "int8": onnx_session(folder / "encoder.int8.onnx")}


def _corpus_of(split_path: str, fold: str, seed: int) -> dict[str, str]:
    folds = read_folds(split_path, seed)
    rows = folds[folds["fold"] == str(fold)]
    return dict(zip(rows["utterance_id"], rows["corpus"]))


def latency(architecture: str, n_classes: int, seconds: float, repeats: int, threads: int, out: str) -> None:
    """Size and CPU latency per clip of the full-size architecture with random weights, three ways in one run.

    Float PyTorch, float ONNX and int8 ONNX (dynamic MatMul/Gemm) run the same
    ``seconds``-long clip, each ``repeats`` times after a warm-up, on ``threads``
    CPU threads; sizes are the ONNX files' bytes (MB = 10^6 bytes).
    """
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    encoder = AutoModel.from_config(build_config(architecture)).eval()
    hidden = encoder.config.hidden_size
    head = PooledHead(encoder.config.num_hidden_layers + 1, hidden, n_classes, **HeadSettings().model_dump()).eval()
    model = WaveformEncoder(encoder, NORMALIZES[architecture], head).eval()
    clip = np.random.default_rng(0).uniform(-0.5, 0.5, int(seconds * 16000)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        float_bytes = export_onnx(model, Path(tmp) / "float.onnx", seconds)
        int8_bytes = quantize_int8(Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx")
        sessions = {name: onnx_session(Path(tmp) / f"{name}.onnx", threads) for name in ("float", "int8")}
        tensor = torch.from_numpy(clip)[None, :]
        with torch.no_grad():
            torch_s = median_latency(lambda: model(tensor), repeats)
        onnx_float_s = median_latency(lambda: run_onnx(sessions["float"], clip), repeats)
        onnx_int8_s = median_latency(lambda: run_onnx(sessions["int8"], clip), repeats)
    write_json(
        out,
        {
            "architecture": architecture,
            "random_weights": True,
            "n_params": sum(p.numel() for p in model.parameters()),
            "clip_seconds": seconds,
            "threads": threads,
            "repeats": repeats,
            "pytorch_float_mb": 4 * sum(p.numel() for p in model.parameters()) / MB,
            "onnx_float_mb": float_bytes / MB,
            "onnx_int8_mb": int8_bytes / MB,
            "latency_pytorch_float_s": torch_s,
            "latency_onnx_float_s": onnx_float_s,
            "latency_onnx_int8_s": onnx_int8_s,
        },
    )
