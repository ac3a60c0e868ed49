"""serbench predict on packed models of the quantization study: inputs made as the study's feature step makes them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import family, write_tone
from serbench.errors import InputError
from serbench.predict import predict_files
from serbench.settings import Settings
from serbench.studies.quantization.egemaps import extract_egemaps
from serbench.studies.quantization.features import extract_corpus
from serbench.studies.quantization.packing import save_packed

CLASSES = ["anger", "neutral", "sadness"]
FEATURES = Settings().quantization.features


def packed(path, name, input_dim, feature_set, normalise="none", max_frames=40, bits=None):
    """An untrained model of family ``name`` packed with the ``inputs`` header a trained one carries."""
    torch.manual_seed(0)
    model = family(name, input_dim, len(CLASSES)).eval()
    model.feature_mean.copy_(torch.randn(input_dim))
    settings = {"set": feature_set, **FEATURES.model_dump(mode="json", exclude={"sets"})}
    inputs = {"features": settings, "max_frames": max_frames, "normalise": normalise}
    kwargs = {"input_dim": input_dim, "n_classes": len(CLASSES), **Settings().quantization.model_dump()[name]}
    save_packed(path, model, name, kwargs, CLASSES, bits or {}, inputs=inputs)
    return model


def study_inputs(audio, feature_set):
    """The utterance and frame features of one file as the study's feature step computes them."""
    manifest = pd.DataFrame({"utterance_id": ["u"], "path": [str(audio)]})
    if feature_set == "egemaps":
        _, utterance, frames = extract_egemaps(manifest, FEATURES.sample_rate, threads=1)
        return np.array(utterance[0], np.float32), frames[0]
    _, frames = extract_corpus(manifest, FEATURES, threads=1)
    return frames[0].mean(axis=0, dtype=np.float64).astype(np.float32), frames[0]


@pytest.mark.parametrize("name, feature_set, dim", [("mlp", "egemaps", 88), ("lstm", "mfcc_chroma_mel", 180)])
def test_a_packed_model_labels_a_file_from_the_features_the_study_makes(tmp_path, capsys, name, feature_set, dim):
    audio = write_tone(tmp_path / "note.wav", seconds=1.5, rate=22050)
    model = packed(tmp_path / "fp32.sbq", name, dim, feature_set, max_frames=40)
    utterance, frames = study_inputs(audio, feature_set)
    if name == "mlp":
        inputs, lengths = torch.from_numpy(utterance)[None], torch.ones(1, dtype=torch.long)
    else:
        inputs, lengths = torch.from_numpy(frames[:40])[None], torch.tensor([40])
    with torch.no_grad():
        expected = torch.softmax(model(inputs, lengths), dim=1)[0].numpy()
    assert predict_files([str(audio)], str(tmp_path / "fp32.sbq")) == 0
    line = capsys.readouterr().out.strip().split("\t")
    assert line[:2] == [str(audio), CLASSES[expected.argmax()]]
    assert [float(p.split("=")[1]) for p in line[2:]] == pytest.approx(expected, abs=2e-3)


def test_a_quantized_variant_is_read_and_a_bad_audio_file_is_named(tmp_path, capsys):
    audio = write_tone(tmp_path / "note.wav", seconds=1.0)
    (tmp_path / "broken.wav").write_bytes(b"RIFF0000")
    packed(tmp_path / "fixed2.sbq", "mlp", 88, "egemaps", bits={"net.0": 2, "net.3": 2, "net.6": 2, "net.8": 2})
    assert predict_files([str(audio), str(tmp_path / "broken.wav")], str(tmp_path / "fixed2.sbq")) == 1
    out, err = capsys.readouterr()
    assert out.startswith(f"{audio}\t") and f"{tmp_path / 'broken.wav'}\terror: " in err


def test_models_predict_cannot_use_are_refused_in_one_line_saying_what_it_takes(tmp_path):
    audio = str(write_tone(tmp_path / "note.wav"))
    takes = "serbench predict takes a packed model of the quantization study"
    with pytest.raises(InputError, match=f"no such file; {takes}"):
        predict_files([audio], str(tmp_path / "missing.sbq"))
    (tmp_path / "model.pt").write_bytes(b"weights")
    with pytest.raises(InputError, match=f"model.pt: {takes}"):
        predict_files([audio], str(tmp_path / "model.pt"))
    (tmp_path / "junk.sbq").write_bytes(b"not packed")
    with pytest.raises(InputError, match="junk.sbq: not a packed model of the quantization study"):
        predict_files([audio], str(tmp_path / "junk.sbq"))
    packed(tmp_path / "speaker.sbq", "mlp", 88, "egemaps", normalise="speaker")
    with pytest.raises(InputError, match="standardised per speaker, which one file cannot give"):
        predict_files([audio], str(tmp_path / "speaker.sbq"))
