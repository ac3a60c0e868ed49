"""Shared fixtures: small synthetic corpora written in each corpus's naming convention; the shared Hugging Face
cache (``../shared/hf-hub``, read offline) when the environment names none, before transformers is imported; the
quantization study's end-to-end run on the real EmoDB, made once for the test modules that read it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml
from snakemake.utils import update_config

from serbench.dataset import Subset
from serbench.settings import Settings
from serbench.studies.quantization.models import build_model

SHARED_HUB = Path(__file__).resolve().parents[2] / "shared" / "hf-hub"
REPO = Path(__file__).resolve().parents[1]
TEST_CONFIGS = REPO / ".test"  # the end-to-end tests' checked-in configs
if "HF_HUB_CACHE" not in os.environ and SHARED_HUB.is_dir():  # before any test module imports transformers
    os.environ["HF_HUB_CACHE"] = str(SHARED_HUB)
    os.environ["HF_HUB_OFFLINE"] = "1"


def write_tone(
    path: Path, seconds: float = 0.5, rate: int = 16000, freq: float = 220.0, fmt: str | None = None
) -> Path:
    """A short sine tone with a little noise, as a real (decodable) audio file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(int(freq))
    wave = 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.size)
    sf.write(path, wave.astype(np.float32), rate, format=fmt)
    return path


def write_emodb_tones(
    root: Path, speakers: tuple[str, ...], codes: str, texts: tuple[str, ...], seconds: float, step: float
) -> Path:
    """An EmoDB-named folder of tones, ``root/emodb/wav/<speaker><text><code>a.wav``: one per speaker, emotion code
    (``"WTNF"``: anger, sadness, neutral, happiness) and text, each emotion at its own pitch (``step`` Hz apart),
    shifted a few Hz per speaker. Returns ``root / "emodb"``."""
    for s, speaker in enumerate(speakers):
        for e, code in enumerate(codes):
            for text in texts:
                write_tone(root / "emodb/wav" / f"{speaker}{text}{code}a.wav", seconds, freq=150 + step * e + 7 * s)
    return root / "emodb"


def link_emodb_speakers(source: Path, root: Path, speakers: set[str]) -> Path:
    """An EmoDB folder under ``root`` linking the real copy's files of ``speakers`` (``{"03", "08"}``).

    Returns ``root``.
    """
    wav = root / "emodb" / "wav"
    wav.mkdir(parents=True)
    for audio in sorted(Path(source, "emodb", "wav").glob("*.wav")):
        if audio.name[:2] in speakers:
            (wav / audio.name).symlink_to(audio.resolve())
    return root


@pytest.fixture
def emodb_copy(tmp_path: Path) -> Path:
    """An EmoDB-layout folder: 2 speakers × 7 emotions × 2 texts, WAV."""
    root = tmp_path / "emodb"
    for speaker in ("03", "08"):
        for i, code in enumerate("WLEAFTN"):
            for text in ("a01", "b02"):
                write_tone(root / "wav" / f"{speaker}{text}{code}a.wav", freq=150 + 40 * i + int(speaker))
    return root


def family(name: str, input_dim: int, n_classes: int, **overrides):
    """A registered model family with the config's default settings, some overridden."""
    return build_model(
        name,
        input_dim=input_dim,
        n_classes=n_classes,
        **{**getattr(Settings().quantization, name).model_dump(), **overrides},
    )


class Blobs:
    """Utterance-level data in Gaussian clusters, one per class, in ``dim`` dimensions (centres drawn with ``seed``):
    what the allocator tests train a small MLP on."""

    def __init__(self, classes: int, dim: int, seed: int):
        self.centres = np.random.default_rng(seed).normal(size=(classes, dim)) * 2.0

    def subset(self, n: int, seed: int) -> Subset:
        """``n`` utterances of random classes, one speaker."""
        rng = np.random.default_rng(seed)
        labels = rng.integers(0, len(self.centres), size=n)
        features = (self.centres[labels] + rng.normal(size=(n, self.centres.shape[1])) * 1.5).astype(np.float32)
        return Subset(features, np.ones(n, dtype=np.int64), labels, np.arange(n), np.array(["s"] * n))

    def trained_mlp(self, hidden: tuple[int, ...], n_train: int, n_validation: int, epochs: int):
        """An MLP of the study's family trained on subsets drawn with seeds 0 (train) and 1 (validation)."""
        from serbench.settings import TrainSettings
        from serbench.studies.quantization.training import train_classifier

        torch.manual_seed(0)
        model = family("mlp", self.centres.shape[1], len(self.centres), hidden=hidden)
        train = (self.subset(n_train, 0), self.subset(n_validation, 1))
        train_classifier(model, *train, TrainSettings(max_epochs=epochs, patience=5), seed=0)
        return model


def checked_in_config(name: str, path: Path, **changes) -> Path:
    """The checked-in ``.test/<name>.yaml`` written to ``path`` with ``changes`` merged in as Snakemake merges
    config files (nested sections key by key); returns ``path``."""
    config = yaml.safe_load((TEST_CONFIGS / f"{name}.yaml").read_text())
    update_config(config, changes)
    path.write_text(yaml.safe_dump(config))
    return path


def workflow_command(work: Path, *arguments: str, configfile: Path | None = None) -> list[str]:
    """The command that runs the repository's workflow in ``work`` on ``configfile`` (default
    ``work/config.yaml``)."""
    command = ["snakemake", "--snakefile", str(REPO / "workflow" / "Snakefile"), "--directory", str(work)]
    return command + ["--configfile", str(configfile or work / "config.yaml"), *arguments]


def run_workflow(
    work: Path, *arguments: str, configfile: Path | None = None, timeout: int = 1800
) -> subprocess.CompletedProcess:
    """The repository's workflow run by Snakemake in ``work`` on ``configfile`` (default ``work/config.yaml``),
    output captured."""
    command = workflow_command(work, *arguments, configfile=configfile)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


# the marks of a test module that runs the workflow on the real EmoDB copy in $SERBENCH_DATA
EMODB_E2E = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        "SERBENCH_DATA" not in os.environ,
        reason="SERBENCH_DATA is unset: point it at a folder holding emodb/ (e.g. ../shared/data)",
    ),
]


def run_to_end(work: Path, configfile: Path, *extra: str) -> str:
    """:func:`run_workflow` on 2 cores, which must succeed; its output (stdout, then stderr)."""
    done = run_workflow(work, "--cores", "2", *extra, configfile=configfile, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def link_corpora(root: Path) -> None:
    """``root/emodb`` and ``root/tess``: links to the real copies in ``$SERBENCH_DATA``."""
    root.mkdir()
    for corpus in ("emodb", "tess"):
        (root / corpus).symlink_to(Path(os.environ["SERBENCH_DATA"], corpus).resolve())


def quantization_config(
    path: Path, data_root: Path, t_margin: float = 0.05, max_epochs: int = 8, corpora: tuple[str, ...] = ("emodb",)
) -> Path:
    """The checked-in ``.test/quantization.yaml`` at ``data_root``, with its T_margin, epochs or corpora changed."""
    return checked_in_config(
        "quantization",
        path,
        data_root=str(data_root),
        quantization={
            "corpora": list(corpora),
            "train": {"max_epochs": max_epochs},
            "adaptive": {"t_margin": t_margin},
        },
    )


@pytest.fixture(scope="session")
def quantization_run(tmp_path_factory) -> Path:
    """A working directory where ``.test/quantization.yaml`` ran to the end on the real EmoDB (``$SERBENCH_DATA``),
    once per session: tests read it, and copy it before changing anything."""
    work = tmp_path_factory.mktemp("e2e")
    link_corpora(work / "data")
    run_to_end(work, quantization_config(work / "config.yaml", work / "data"), "all")
    return work


@pytest.fixture
def quantization_run_copy(quantization_run, tmp_path) -> Path:
    """A copy of :func:`quantization_run` (results, Snakemake's records, config; times kept) for a test that damages
    or reruns it."""
    copy = tmp_path / "run"
    shutil.copytree(quantization_run, copy, symlinks=True)
    return copy


def scheduled_rules(output: str) -> dict[str, int]:
    """Rule name -> number of jobs in a dry run's output."""
    return Counter(re.findall(r"^(?:local)?rule (\w+):", output, flags=re.MULTILINE))
