"""The study's 8-bit model: int8 encoders (static and dynamic) over the test folds, their fidelity, deployable
ONNX files, and size/latency of the full-size architecture."""

from __future__ import annotations

import copy
import logging
import tempfile
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel

from serbench.atomic import write_json
from serbench.dataset import CorpusArrays, CorpusFiles
from serbench.folds import read_folds
from serbench.metrics import unweighted_average_recall
from serbench.settings.ssl import HeadSettings
from serbench.ssl.onnx_export import (
    INT8_KINDS,
    WaveformEncoder,
    export_onnx,
    mean_cosine,
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
ENCODER_FILES = {
    "float": "encoder.onnx",
    "int8_static": "encoder.int8.onnx",
    "int8_dynamic": "encoder.int8_dynamic.onnx",
    "int8_mixed": "encoder.int8_mixed.onnx",
}


def int8(
    pretrained: str,
    heads: list[tuple[str, str, str, int]],
    corpora: dict[str, CorpusFiles],
    out_dir: str,
    out_json: str,
    calibration_utterances: int = 32,
    deployed: tuple[str, str, str, int] | None = None,
    deployed_kind: str = "static",
) -> None:
    """UA of every fold's model with a float and three int8 ONNX encoders, their fidelity, and deployable models.

    Int8 schemes (:func:`serbench.ssl.onnx_export.quantize_int8`): ``static``
    (whole encoder, calibrated on the first ``calibration_utterances`` training
    utterances of the head's own fold), ``mixed`` (static with float activations
    in the CNN) and ``dynamic`` (MatMul/Gemm weights).
    A frozen study shares one encoder, exported once; a fine-tuned study
    (``distilhubert.finetune``) exports each head's own encoder. Fidelity is the
    mean over test utterances of the mean cosine similarity, frame by frame,
    of the last hidden states float vs int8.

    Args:
        pretrained: the study's encoder.
        heads: ``(head_path, split_path, fold, seed)`` per trained head.
        corpora: manifest and prepared-waveform cache per corpus of the folds.
        out_dir: receives ``encoder.onnx``, ``encoder.int8.onnx`` (static), ``encoder.int8_dynamic.onnx`` and
            ``encoder.int8_mixed.onnx`` (the first head's encoder), ``model.onnx`` and ``model.int8.onnx`` (the
            deployed model's encoder and head, int8 by ``deployed_kind``, class names in the metadata), the
            latter for ``serbench predict``.
        out_json: sizes (MB = 10^6 bytes), per-head UA and fidelity per scheme, and their means.
        deployed: ``(head_path, split_path, fold, seed)`` of the model to deploy, calibrated on its own training
            utterances: the production model, as the paper exported it; ``None``: the first head.
        deployed_kind: its int8 scheme (``distilhubert.deployed_int8``).
    """
    base, extractor = load_upstream(pretrained)
    normalize, out = bool(extractor.do_normalize), Path(out_dir)
    arrays = CorpusArrays(corpora, "waveforms")  # the waveform caches, read once for every head
    rows, shared, calibration = [], None, []
    with tempfile.TemporaryDirectory() as tmp:
        for head_path, split_path, fold, seed in heads:
            head, _, encoder_state = load_head(head_path)
            data = arrays.split(read_folds(split_path, seed), fold, split_path)
            own = list(data.subsets["train"].features[:calibration_utterances])
            if shared is None:  # the first head's encoder: exported to out_dir, shared by a frozen study
                shared, calibration = _encoder_sessions(_with_state(base, encoder_state), normalize, out, own), own
            later_fine_tuned = encoder_state is not None and rows  # a later head with its own encoder
            sessions = (
                _encoder_sessions(_with_state(base, encoder_state), normalize, Path(tmp), own)
                if later_fine_tuned
                else shared
            )
            test = data.subsets["test"]
            outputs = {kind: [session.run(None, _feed(w)) for w in test.features] for kind, session in sessions.items()}
            row = {"head": head_path, "fold": fold, "seed": seed, "n_test": len(test.ids)}
            for kind, encoded in outputs.items():
                pooled = np.stack([pooled_states[0] for pooled_states, _ in encoded])
                row[f"uar_{kind}"] = unweighted_average_recall(test.labels, head_probabilities(head, pooled).argmax(1))
                if kind != "float":
                    row[f"cosine_{kind}"] = float(
                        np.mean([mean_cosine(f[1][0], q[1][0]) for f, q in zip(outputs["float"], encoded)])
                    )
            rows.append(row)
    sizes = {kind: (out / ENCODER_FILES[kind]).stat().st_size / MB for kind in ENCODER_FILES}
    summary = {"pretrained": pretrained, "calibration_utterances": len(calibration)}
    deployed = deployed or heads[0]
    summary |= {"deployed_head": deployed[0], "deployed_int8": deployed_kind}
    _deploy(base, normalize, deployed, arrays, out, calibration_utterances, deployed_kind)
    summary |= {f"encoder_{kind}_mb": size for kind, size in sizes.items()}
    for key in [k for k in rows[0] if k.startswith(("uar_", "cosine_"))]:
        values = np.array([r[key] for r in rows])
        summary |= {f"{key}_mean": values.mean(), f"{key}_std": values.std(ddof=1) if len(rows) > 1 else 0.0}
    write_json(out_json, summary | {"heads": rows})


def _deploy(
    base: torch.nn.Module,
    normalize: bool,
    head: tuple[str, str, str, int],
    arrays: CorpusArrays,
    out: Path,
    calibration_utterances: int,
    kind: str,
) -> None:
    """``model.onnx`` and ``model.int8.onnx`` (int8 ``kind``) of one head with its encoder."""
    model, classes, state = load_head(head[0])
    folds = arrays.split(read_folds(head[1], head[3]), head[2], head[1], optional=("test",))
    calibration = list(folds.subsets["train"].features[:calibration_utterances])
    metadata = {"classes": classes, "sample_rate": 16000, "window_seconds": 8.0}
    export_onnx(WaveformEncoder(_with_state(base, state), normalize, model), out / "model.onnx", metadata=metadata)
    quantize_int8(out / "model.onnx", out / "model.int8.onnx", kind, calibration)


def _with_state(base: torch.nn.Module, state: dict | None) -> torch.nn.Module:
    """``base`` itself for a frozen study, else a copy carrying a head's fine-tuned encoder weights; eval mode."""
    if state is None:
        return base.eval()
    encoder = copy.deepcopy(base)
    encoder.load_state_dict(state)
    return encoder.eval()


def _encoder_sessions(encoder: torch.nn.Module, normalize: bool, folder: Path, calibration: list) -> dict:
    """Float and both int8 ONNX sessions of one encoder (outputs: pooled states, last hidden states)."""
    export_onnx(WaveformEncoder(encoder, normalize, last_hidden=True), folder / ENCODER_FILES["float"])
    for kind in INT8_KINDS:
        quantize_int8(folder / ENCODER_FILES["float"], folder / ENCODER_FILES[f"int8_{kind}"], kind, calibration)
    return {kind: onnx_session(folder / name) for kind, name in ENCODER_FILES.items()}


def _feed(waveform: np.ndarray) -> dict:
    return {"waveform": waveform[None, :].astype(np.float32)}


def latency(
    architecture: str,
    n_classes: int,
    seconds: float,
    repeats: int,
    threads: list[int],
    out: str,
    calibration: list[np.ndarray] | None = None,
) -> None:
    """Bytes on disk and CPU latency per clip of the full-size architecture (random weights), five ways, one run.

    PyTorch float, ONNX float, ONNX int8 dynamic, static and mixed run the
    same ``seconds``-long clip, each ``repeats`` times after a warm-up, at every
    thread count of ``threads``. Static and mixed int8 are calibrated on ``calibration``
    (waveforms at 16 kHz; by default four clips of noise, as sizes and latency do
    not depend on the calibration values). Keys ``<model>_mb`` (MB = 10^6 bytes)
    and ``latency_<model>_s`` (``{threads: seconds}``) for models
    ``pytorch_float``, ``onnx_float``, ``onnx_int8_dynamic``, ``onnx_int8_static``, ``onnx_int8_mixed``.
    """
    torch.manual_seed(0)
    encoder = AutoModel.from_config(build_config(architecture)).eval()
    hidden = encoder.config.hidden_size
    head = PooledHead(encoder.config.num_hidden_layers + 1, hidden, n_classes, **HeadSettings().model_dump()).eval()
    model = WaveformEncoder(encoder, NORMALIZES[architecture], head).eval()
    rng = np.random.default_rng(0)
    clip = rng.uniform(-0.5, 0.5, int(seconds * 16000)).astype(np.float32)
    calibration = calibration or [rng.uniform(-0.5, 0.5, int(seconds * 16000)).astype(np.float32) for _ in range(4)]
    n_params = sum(p.numel() for p in model.parameters())
    result = {"architecture": architecture, "random_weights": True, "n_params": n_params, "clip_seconds": seconds}
    result |= {"threads": threads, "repeats": repeats, "calibration_utterances": len(calibration)}
    result["pytorch_float_mb"] = 4 * n_params / MB
    files = {"onnx_float": "float.onnx"} | {f"onnx_int8_{kind}": f"{kind}.onnx" for kind in INT8_KINDS}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result["onnx_float_mb"] = export_onnx(model, folder / files["onnx_float"], seconds) / MB
        for kind in INT8_KINDS:
            name = f"onnx_int8_{kind}"
            result[f"{name}_mb"] = quantize_int8(folder / "float.onnx", folder / files[name], kind, calibration) / MB
        tensor = torch.from_numpy(clip)[None, :]
        for model_name in ("pytorch_float", *files):
            result[f"latency_{model_name}_s"] = {}
        for count in threads:
            torch.set_num_threads(count)
            with torch.no_grad():
                result["latency_pytorch_float_s"][count] = median_latency(lambda: model(tensor), repeats)
            for name, file in files.items():
                session = onnx_session(folder / file, count)
                result[f"latency_{name}_s"][count] = median_latency(lambda s=session: run_onnx(s, clip), repeats)
    write_json(out, result)
