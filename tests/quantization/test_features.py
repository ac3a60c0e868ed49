import os
import re
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
import pytest
import torch

from conftest import write_tone
from serbench.audio import load_audio
from serbench.cache import load_rows, save_rows
from serbench.settings import FeatureSettings
from serbench.studies.quantization.features import batch_features, extract_corpus, peak_pitches, pitch_tuning

DATA = os.environ.get("SERBENCH_DATA")


def librosa_frames(waveform: np.ndarray, cfg: FeatureSettings) -> np.ndarray:
    """The usual SER recipe, one librosa call (and STFT) per feature: ``(frames, 180)``."""
    sr = cfg.sample_rate
    return np.concatenate(
        [
            librosa.feature.mfcc(y=waveform, sr=sr, n_mfcc=cfg.n_mfcc, n_fft=cfg.n_fft, hop_length=cfg.hop_length),
            librosa.feature.chroma_stft(
                S=np.abs(librosa.stft(waveform, n_fft=cfg.n_fft, hop_length=cfg.hop_length)),
                sr=sr,
                n_chroma=cfg.n_chroma,
                n_fft=cfg.n_fft,
                hop_length=cfg.hop_length,
            ),
            librosa.feature.melspectrogram(
                y=waveform, sr=sr, n_mels=cfg.n_mels, n_fft=cfg.n_fft, hop_length=cfg.hop_length
            ),
        ]
    ).T


def assert_like_librosa(ours: np.ndarray, reference: np.ndarray) -> None:
    """Equal to 1e-4 of each feature's scale (MFCCs near zero are compared absolutely at that scale)."""
    scale = np.abs(reference).max(axis=0, keepdims=True) + 1e-12
    np.testing.assert_allclose(ours / scale, reference / scale, rtol=1e-4, atol=1e-4)


def speech_like(seconds: float, seed: int) -> np.ndarray:
    """A harmonic tone with vibrato and noise at 16 kHz, so that chroma's tuning estimate has peaks to find."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    f0 = rng.uniform(110, 260) * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / 16000
    wave = sum(np.sin(k * phase) / k for k in range(1, 6)) + 0.05 * rng.standard_normal(t.size)
    return (0.2 * wave).astype(np.float32)


def test_one_batched_stft_gives_librosa_s_three_features_per_frame():
    cfg = FeatureSettings()
    waveforms = [speech_like(s, i) for i, s in enumerate([0.3, 1.0, 2.5, 1.7])]
    batch = batch_features(waveforms, cfg)
    for waveform, frames in zip(waveforms, batch):
        assert frames.shape == (1 + len(waveform) // cfg.hop_length, 180)  # librosa's centred frames
        assert_like_librosa(frames, librosa_frames(waveform, cfg))


@pytest.mark.skipif(not DATA, reason="SERBENCH_DATA is unset")
def test_real_utterances_match_librosa_including_their_tuning():
    cfg = FeatureSettings()
    paths = sorted(Path(DATA, "emodb", "wav").glob("*.wav"))[::25] + sorted(Path(DATA, "tess").glob("*/*.flac"))[::150]
    waveforms = [load_audio(p, cfg.sample_rate)[0] for p in paths]
    for path, waveform, frames in zip(paths, waveforms, batch_features(waveforms, cfg)):
        magnitude = np.abs(librosa.stft(waveform))
        assert frames.shape[0] == magnitude.shape[1]
        peaks = (t.numpy()[0] for t in peak_pitches(torch.from_numpy(magnitude)[None], cfg))
        assert pitch_tuning(*peaks, cfg.n_chroma) == librosa.estimate_tuning(S=magnitude, sr=16000), path
        assert_like_librosa(frames, librosa_frames(waveform, cfg))


def test_corpus_extraction_keeps_manifest_order_and_skips_unreadable_files(tmp_path, caplog):
    cfg = FeatureSettings()
    paths = [
        write_tone(tmp_path / f"{i}.wav", seconds=s, rate=22050, freq=200 + 30 * i)
        for i, s in enumerate([1.2, 0.4, 0.8])
    ]
    (tmp_path / "bad.wav").write_bytes(b"RIFF0000")
    manifest = pd.DataFrame(
        {
            "utterance_id": ["a", "bad", "b", "c"],
            "path": [str(paths[0]), str(tmp_path / "bad.wav"), str(paths[1]), str(paths[2])],
        }
    )
    ids, frames = extract_corpus(manifest, cfg, threads=2)
    assert ids == ["a", "b", "c"] and "bad.wav" in caplog.text
    for path, got in zip(paths, frames):
        assert_like_librosa(got, librosa_frames(load_audio(path, 16000)[0], cfg))


def test_feature_table_round_trip_and_damage(tmp_path):
    path = tmp_path / "f.npz"
    save_rows(path, ["a", "b"], np.arange(6, dtype=np.float32).reshape(2, 3))
    ids, features = load_rows(path)
    assert ids.tolist() == ["a", "b"] and features.tolist() == [[0, 1, 2], [3, 4, 5]]
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(
        ValueError, match=r"f\.npz: damaged cache .*rebuild it with: snakemake --cores 1 --force .*f\.npz$"
    ):
        load_rows(path)


def test_stereo_is_averaged_to_mono(tmp_path):
    import soundfile as sf

    stereo = np.stack([np.full(800, 0.5), np.full(800, -0.1)], axis=1).astype(np.float32)
    sf.write(tmp_path / "s.flac", stereo, 8000)
    mono, rate = load_audio(tmp_path / "s.flac")
    assert rate == 8000 and mono.shape == (800,)
    np.testing.assert_allclose(mono, 0.2, atol=1e-3)


def test_truncated_model_file_names_the_rebuild_command(tmp_path):
    import torch

    from serbench.step_files import DamagedFileError, load_checkpoint

    path = tmp_path / "head.pt"
    torch.save({"state_dict": {"w": torch.ones(3)}, "classes": ["a"]}, path)
    assert load_checkpoint(path)["classes"] == ["a"]
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(
        DamagedFileError, match=r"head\.pt: damaged model file .*snakemake --cores 1 --force .*head\.pt$"
    ):
        load_checkpoint(path)


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda p: None, "file not found"),
        (lambda p: p.write_bytes(b""), "empty file (0 bytes)"),
        (lambda p: p.write_bytes(write_tone(p, seconds=1.0).read_bytes()[:9000]), "truncated"),
    ],
)
def test_missing_empty_and_truncated_files_each_say_so(tmp_path, make, reason):
    from serbench.audio import AudioError

    path = tmp_path / "note.wav"
    make(path)
    with pytest.raises(AudioError, match=re.escape(reason)):
        load_audio(path, 16000)
