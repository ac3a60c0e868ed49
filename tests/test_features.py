import librosa
import numpy as np
import pytest

from conftest import write_tone
from serbench.audio import load_audio
from serbench.cache import load_rows, save_rows
from serbench.features import FeatureConfig, frame_features, utterance_features


@pytest.fixture
def waveform(tmp_path):
    samples, rate = load_audio(write_tone(tmp_path / "x.wav", seconds=1.0, rate=22050), 16000)
    assert rate == 16000 and samples.shape == (16000,)
    return samples


def test_one_stft_gives_the_usual_three_librosa_features(waveform):
    cfg = FeatureConfig()
    features = utterance_features(waveform, cfg)
    magnitude = np.abs(librosa.stft(waveform))
    usual = np.concatenate([
        librosa.feature.mfcc(y=waveform, sr=16000, n_mfcc=40).mean(axis=1),
        librosa.feature.chroma_stft(S=magnitude, sr=16000).mean(axis=1),
        librosa.feature.melspectrogram(y=waveform, sr=16000).mean(axis=1),
    ])
    assert features.shape == (180,)
    np.testing.assert_allclose(features, usual, rtol=1e-4, atol=1e-5)


def test_frame_features_shape(waveform):
    frames = frame_features(waveform, FeatureConfig())
    assert frames.shape == (1 + 16000 // 512, 180)  # centred frames
    np.testing.assert_allclose(frames.mean(axis=0), utterance_features(waveform, FeatureConfig()))


def test_feature_table_round_trip_and_damage(tmp_path):
    path = tmp_path / "f.npz"
    save_rows(path, ["a", "b"], np.arange(6, dtype=np.float32).reshape(2, 3))
    ids, features = load_rows(path)
    assert ids.tolist() == ["a", "b"] and features.tolist() == [[0, 1, 2], [3, 4, 5]]
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match=r"f\.npz: damaged cache .*rebuild it with: snakemake --cores 1 --force .*f\.npz$"):
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

    from serbench.cache import DamagedFileError, load_checkpoint

    path = tmp_path / "head.pt"
    torch.save({"state_dict": {"w": torch.ones(3)}, "classes": ["a"]}, path)
    assert load_checkpoint(path)["classes"] == ["a"]
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DamagedFileError, match=r"head\.pt: damaged model file .*snakemake --cores 1 --force .*head\.pt$"):
        load_checkpoint(path)
