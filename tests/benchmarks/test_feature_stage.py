"""Feature stage against the plain per-file librosa loop, same files, one run.

Run on demand: ``pytest tests/benchmarks --benchmark-only`` (skipped in the
default test run). With SERBENCH_DATA set the files are the first 60 EmoDB
utterances; otherwise 60 synthetic two-second clips.
"""

from __future__ import annotations

import os
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
import pytest

from conftest import write_tone
from serbench.audio import load_audio
from serbench.features import FeatureConfig, extract_corpus

N_FILES = 60


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> pd.DataFrame:
    if os.environ.get("SERBENCH_DATA"):
        paths = sorted(Path(os.environ["SERBENCH_DATA"], "emodb", "wav").glob("*.wav"))[:N_FILES]
    else:
        folder = tmp_path_factory.mktemp("clips")
        paths = [write_tone(folder / f"{i}.wav", seconds=2.0, freq=120 + 5 * i) for i in range(N_FILES)]
    return pd.DataFrame({"utterance_id": [p.stem for p in paths], "path": [str(p) for p in paths]})


def plain_loop(manifest: pd.DataFrame, cfg: FeatureConfig) -> np.ndarray:
    """The usual SER recipe: each feature from its own librosa call, hence its own STFT (three per file)."""
    rows = []
    for path in manifest["path"]:
        y, sr = load_audio(path, cfg.sample_rate)
        rows.append(np.concatenate([
            librosa.feature.mfcc(y=y, sr=sr, n_mfcc=cfg.n_mfcc).mean(axis=1),
            librosa.feature.chroma_stft(S=np.abs(librosa.stft(y)), sr=sr, n_chroma=cfg.n_chroma).mean(axis=1),
            librosa.feature.melspectrogram(y=y, sr=sr, n_mels=cfg.n_mels).mean(axis=1),
        ]))
    return np.stack(rows)


def serbench_stage(manifest: pd.DataFrame, cfg: FeatureConfig) -> np.ndarray:
    """serbench's stage: one STFT per file, frame-level features kept, utterance means derived."""
    _, frames = extract_corpus(manifest, cfg)
    return np.stack([f.mean(axis=0) for f in frames])


@pytest.mark.benchmark(group="feature stage")
@pytest.mark.parametrize("stage", [plain_loop, serbench_stage], ids=["plain_librosa_loop", "serbench_one_stft"])
def test_feature_stage(benchmark, manifest, stage):
    cfg = FeatureConfig()
    features = benchmark.pedantic(stage, args=(manifest, cfg), rounds=3, warmup_rounds=1)
    assert features.shape == (len(manifest), 180)
    np.testing.assert_allclose(features[:3], plain_loop(manifest.iloc[:3], cfg), rtol=1e-4, atol=1e-5)  # same numbers
