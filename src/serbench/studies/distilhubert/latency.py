"""Bytes and CPU latency per clip of an upstream with the DistilHuBERT study's head (``serbench ssl-latency``, the
``distilhubert_latency`` rule): what the int8 scheme is chosen from and the deployment view reads."""

from __future__ import annotations

import numpy as np
import torch

from serbench.atomic import write_json
from serbench.settings.ssl import HeadSettings, upstream_name
from serbench.ssl.encoders import SAMPLE_RATE
from serbench.ssl.latency import measure_latency
from serbench.ssl.onnx_export import WaveformEncoder
from serbench.ssl.upstream import is_random_init, load_upstream
from serbench.studies.distilhubert.head import PooledHead


def upstream_latency(
    pretrained: str,
    n_classes: int,
    seconds: float,
    repeats: int,
    threads: list[int],
    out: str,
    whisper_input: str = "clip",
) -> None:
    """Bytes and CPU latency per clip of the upstream + a head (:func:`serbench.ssl.latency.measure_latency`).

    The upstream's own weights (pretrained, or random when its folder says so) and a head of ``n_classes``; the
    head's weights do not change its cost. Static and mixed int8 are calibrated on four clips of noise.
    """
    upstream = load_upstream(pretrained, whisper_input=whisper_input)
    torch.manual_seed(0)
    head = PooledHead(upstream.num_layers + 1, upstream.hidden_size, n_classes, **HeadSettings().model_dump())
    model = WaveformEncoder(upstream, head.eval()).eval()
    rng = np.random.default_rng(1)
    calibration = [rng.uniform(-0.5, 0.5, int(seconds * SAMPLE_RATE)).astype(np.float32) for _ in range(4)]
    result = measure_latency(model, calibration, seconds, repeats, threads)
    meta = {"upstream": upstream_name(pretrained), "pretrained": pretrained, "random_init": is_random_init(pretrained)}
    write_json(out, meta | result.to_json())
