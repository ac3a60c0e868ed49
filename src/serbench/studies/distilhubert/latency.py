"""Bytes and CPU latency per clip of an upstream with the DistilHuBERT study's head (``serbench ssl-latency``, the
``distilhubert_latency`` rule): what the int8 scheme is chosen from and the deployment view reads."""

from __future__ import annotations

import torch

from serbench.atomic import write_json
from serbench.settings.ssl import HeadSettings
from serbench.ssl.latency import measure_latency, noise_clips
from serbench.ssl.onnx_export import WaveformEncoder
from serbench.ssl.upstream import load_upstream, upstream_record
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
    result = measure_latency(model, noise_clips(seconds, 4, seed=1), seconds, repeats, threads)
    write_json(out, upstream_record(pretrained) | result.to_json())
