"""Self-distillation deployment steps (Ren et al. 2023): a trained model's exits as float and int8 ONNX, the
deployable graph of every exit, and each exit's CPU latency."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from serbench.atomic import write_json
from serbench.dataset import CorpusFiles, load_split_data
from serbench.metrics import unweighted_average_recall
from serbench.settings.selfdistill import SelfDistillSettings
from serbench.settings.ssl import WaveformSettings
from serbench.ssl.encoders import SAMPLE_RATE
from serbench.ssl.latency import MB, measure_latency, median_latency, noise_clips
from serbench.ssl.onnx_export import export_onnx, onnx_session, quantize_int8
from serbench.ssl.upstream import UpstreamChoice, load_upstream, upstream_record
from serbench.step_files import load_checkpoint
from serbench.studies.selfdistill.model import AllExitsModel, ExitHead, ExitModel
from serbench.studies.selfdistill.steps import build_model, open_upstream
from serbench.studies.selfdistill.training import tile


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
