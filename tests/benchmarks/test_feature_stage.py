"""Feature stage beside the plain per-file librosa loop and beside its floor, same files, one run.

Run on demand: ``pytest tests/benchmarks --benchmark-only`` (skipped in the
default test run). With SERBENCH_DATA set the files are EmoDB's 535 utterances
(22.05 kHz, resampled to 16 kHz); otherwise 120 synthetic two-second clips.

- ``plain_librosa_loop``: the usual SER recipe, one librosa call (and STFT) per feature, per file, one thread;
- ``decode_resample_only``: decoding and resampling every file, one thread: the floor the stage cannot go below;
- ``serbench_stage``: :func:`serbench.studies.quantization.features.extract_corpus` on the machine's cores (the
  rule's threads).
"""

from __future__ import annotations

import os
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from conftest import write_tone
from serbench.audio import load_audio
from serbench.settings import FeatureSettings
from serbench.studies.quantization.features import extract_corpus


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> pd.DataFrame:
    if os.environ.get("SERBENCH_DATA"):
        paths = sorted(Path(os.environ["SERBENCH_DATA"], "emodb", "wav").glob("*.wav"))
    else:
        folder = tmp_path_factory.mktemp("clips")
        paths = [write_tone(folder / f"{i}.wav", seconds=2.0, rate=22050, freq=120 + 5 * i) for i in range(120)]
    return pd.DataFrame({"utterance_id": [p.stem for p in paths], "path": [str(p) for p in paths]})


def plain_librosa_loop(manifest: pd.DataFrame, cfg: FeatureSettings) -> np.ndarray:
    """Each feature from its own librosa call, hence its own STFT (three per file), one BLAS thread."""
    rows = []
    with threadpool_limits(1):
        for path in manifest["path"]:
            y, sr = load_audio(path, cfg.sample_rate)
            rows.append(
                np.concatenate(
                    [
                        librosa.feature.mfcc(y=y, sr=sr, n_mfcc=cfg.n_mfcc).mean(axis=1),
                        librosa.feature.chroma_stft(S=np.abs(librosa.stft(y)), sr=sr, n_chroma=cfg.n_chroma).mean(
                            axis=1
                        ),
                        librosa.feature.melspectrogram(y=y, sr=sr, n_mels=cfg.n_mels).mean(axis=1),
                    ]
                )
            )
    return np.stack(rows)


def decode_resample_only(manifest: pd.DataFrame, cfg: FeatureSettings) -> list[np.ndarray]:
    """Decoding and resampling alone, one thread: what every feature stage must do first."""
    with threadpool_limits(1):
        return [load_audio(path, cfg.sample_rate)[0] for path in manifest["path"]]


def serbench_stage(manifest: pd.DataFrame, cfg: FeatureSettings) -> np.ndarray:
    """serbench's stage: decoding on the cores' threads, one batched STFT, frame features kept, means derived."""
    _, frames = extract_corpus(manifest, cfg, threads=os.cpu_count() or 1)
    return np.stack([f.mean(axis=0) for f in frames])


@pytest.mark.benchmark(group="feature stage")
@pytest.mark.parametrize(
    "stage",
    [plain_librosa_loop, decode_resample_only, serbench_stage],
    ids=["plain_librosa_loop", "decode_resample_only", "serbench_stage"],
)
def test_feature_stage(benchmark, manifest, stage):
    cfg = FeatureSettings()
    result = benchmark.pedantic(stage, args=(manifest, cfg), rounds=3, warmup_rounds=1)
    assert len(result) == len(manifest)
    if stage is serbench_stage:  # the same numbers as the plain loop
        reference = plain_librosa_loop(manifest.iloc[:20], cfg)
        scale = np.abs(reference).max(axis=0)  # per feature: errors relative to its range
        np.testing.assert_allclose(result[:20] / scale, reference / scale, rtol=1e-4, atol=1e-4)
