"""eGeMAPS through openSMILE, and the SVM baseline's choice on validation."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from serbench.dataset import Subset
from serbench.metrics import weighted_accuracy
from serbench.settings import SVMSettings
from serbench.studies.quantization.egemaps import DESCRIPTORS, FUNCTIONALS, egemaps, extract_egemaps
from serbench.studies.quantization.svm import fit_svm, svm_parameters

RATE = 16000


def harmonic_tone(f0, seconds=1.0, rate=RATE):
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))).astype(np.float32)


@pytest.mark.parametrize("f0", [200, 300])
def test_egemaps_pitch_functional_is_the_tones_pitch_in_semitones(f0):
    functionals, descriptors = egemaps(harmonic_tone(f0), RATE)
    assert functionals.shape == (FUNCTIONALS,) and descriptors.shape[1] == DESCRIPTORS
    assert 90 <= len(descriptors) <= 100  # one frame per 10 ms
    assert functionals[0] == pytest.approx(12 * np.log2(f0 / 27.5), abs=0.5)  # F0 semitones from 27.5 Hz, mean


def test_a_corpus_is_extracted_in_manifest_order_and_an_unreadable_file_left_out(tmp_path):
    paths = []
    for i, f0 in enumerate((150, 250)):
        paths.append(tmp_path / f"{i}.wav")
        rate = 8000 if i else RATE  # resampled to 16 kHz on load
        sf.write(paths[-1], harmonic_tone(f0, 0.5, rate), rate)
    (tmp_path / "bad.wav").write_bytes(b"not audio")
    manifest = pd.DataFrame(
        {"utterance_id": ["a", "bad", "b"], "path": [str(paths[0]), str(tmp_path / "bad.wav"), str(paths[1])]}
    )
    ids, functionals, descriptors = extract_egemaps(manifest, RATE, threads=2)
    assert ids == ["a", "b"] and len(functionals) == len(descriptors) == 2
    assert functionals[0][0] < functionals[1][0]  # 150 Hz below 250 Hz


def blobs(n, seed, spread=1.5):
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(5).normal(size=(3, 6)) * 2
    labels = rng.integers(0, 3, n)
    return Subset(
        (centres[labels] + rng.normal(size=(n, 6)) * spread).astype(np.float32), np.ones(n), labels, np.arange(n)
    )


def test_svm_keeps_the_kernel_and_c_with_the_best_validation_accuracy():
    train, validation = blobs(200, 0), blobs(100, 1)
    cfg = SVMSettings(kernels=("linear", "rbf"), c=(1e-4, 1.0))
    pipeline, chosen = fit_svm(train, validation, cfg, seed=0)
    assert chosen["C"] == 1.0  # C = 1e-4 hardly fits: every point is a support vector at the margin
    assert chosen["validation_accuracy"] == weighted_accuracy(validation.labels, pipeline.predict(validation.features))
    for kernel in cfg.kernels:
        other, _ = fit_svm(train, validation, SVMSettings(kernels=(kernel,), c=(1e-4,)), seed=0)
        assert weighted_accuracy(validation.labels, other.predict(validation.features)) <= chosen["validation_accuracy"]
    svc = pipeline[-1]
    assert svm_parameters(pipeline) == svc.support_vectors_.size + svc.dual_coef_.size + svc.intercept_.size + 12
