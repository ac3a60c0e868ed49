"""Every setting of the suite, its type, range and default, written once.

The workflow validates its config with :class:`Settings` (one line per error,
naming the key); each job gets the sections it reads as plain dicts
(``Section.model_dump()``) and rebuilds them here. ``config.yaml`` and
``workflow/schemas/config.schema.json`` are generated from these models
(``serbench settings --write``) and a test keeps them in step. Only pydantic is
imported, so the Snakemake process stays light.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationError, model_validator

from serbench.errors import SerbenchError
from serbench.settings.base import Corpus, Section
from serbench.settings.quantization import (
    AdaptiveSettings,
    AttentionGRUSettings,
    CNN1DSettings,
    FeatureSettings,
    LSTMSettings,
    MLPSettings,
    QATSettings,
    QuantizationSettings,
    SequenceSettings,
    SVMSettings,
    TrainSettings,
)
from serbench.settings.selfdistill import SelfDistillSettings
from serbench.settings.splits import CrossCorpusSettings, RandomSplitSettings, SpeakerIndependentSettings
from serbench.settings.ssl import DistilHubertSettings, WaveformSettings

__all__ = [
    "AdaptiveSettings",
    "AttentionGRUSettings",
    "CNN1DSettings",
    "CrossCorpusSettings",
    "DistilHubertSettings",
    "FeatureSettings",
    "LSTMSettings",
    "MLPSettings",
    "QATSettings",
    "QuantizationSettings",
    "SVMSettings",
    "RandomSplitSettings",
    "SelfDistillSettings",
    "SequenceSettings",
    "Settings",
    "SettingsError",
    "SpeakerIndependentSettings",
    "TrainSettings",
    "WaveformSettings",
    "load_settings",
]

Study = Literal["quantization", "distilhubert", "selfdistill"]


class Settings(Section):
    """The whole config (``config.yaml``, generated from these defaults)."""

    data_root: str = Field("data", description="folder holding one sub-folder per corpus in its official layout")
    studies: list[Study] = Field(
        ["quantization", "distilhubert", "selfdistill"],
        description="studies that `snakemake all` builds: all three; config/quick.yaml the quantization study alone",
    )
    download_checksums: dict[Corpus, Annotated[str, Field(pattern=r"^(md5|sha1|sha256):[0-9a-f]+$")] | None] = Field(
        {"emodb": None, "tess": None, "ravdess": "md5:bc696df654c87fed845eb13823edef8a", "cremad": None},
        description="checksum of each official archive as published by its distributor, algorithm:hex. RAVDESS: "
        "the MD5 Zenodo publishes for Audio_Speech_Actors_01-24.zip (no SHA-256 is published). EmoDB "
        "(emodb.bilderbar.info), TESS (a zip the Borealis Dataverse assembles on request) and CREMA-D publish "
        "none: null, and the download logs the SHA-256 it computed, to pin here",
    )
    download_urls: dict[Corpus, Annotated[str, Field(pattern=r"^(https?|file)://")]] = Field(
        {},
        description="where to fetch a corpus's official archive instead of its distributor: a mirror, a proxy's "
        "cache or a local server holding the same file (its checksum is still checked against "
        "download_checksums)",
    )
    device: str = Field(
        "auto",
        pattern=r"^(auto|cpu|mps|cuda(:[0-9]+)?)$",
        description="where every torch step runs (training, QAT, scoring, allocator traces, SSL encoders and "
        "heads): auto (CUDA, else Apple MPS, else the CPU), cpu, cuda, cuda:N or mps. ONNX export, int8 "
        "evaluation and latency stay on the CPU they measure. On Slurm, cuda makes every such rule ask for a GPU",
    )
    quantization: QuantizationSettings = QuantizationSettings()
    waveform: WaveformSettings = WaveformSettings()
    distilhubert: DistilHubertSettings = DistilHubertSettings()
    selfdistill: SelfDistillSettings = SelfDistillSettings()

    def gpu(self, fine_tuning: bool = False) -> int:
        """GPUs a torch rule asks Slurm for: 1 with ``device: cuda[:N]``; with ``auto``, 1 for the rules that
        fine-tune a speech encoder (``fine_tuning``), which would take hours on a CPU; else 0.

        >>> Settings(device="cuda:1").gpu(), Settings(device="auto").gpu(), Settings(device="auto").gpu(True)
        (1, 0, 1)
        >>> Settings(device="cpu").gpu(True)
        0
        """
        return int(self.device.startswith("cuda") or (self.device == "auto" and fine_tuning))

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if len(set(self.studies)) != len(self.studies):
            raise ValueError(f"studies lists a value twice: {self.studies}")
        return self


class SettingsError(SerbenchError, ValueError):
    """A config that does not validate; the message has one line per error, each naming its key."""


def load_settings(config: dict) -> Settings:
    """Validate a Snakemake config dict.

    Raises:
        SettingsError: one line per problem, ``key.path: reason``; an unknown
            key is named without printing the schema (a quantization key at the top, where releases before
            the per-study sections had it, with the key to move it to).
    """
    try:
        return Settings.model_validate(config)
    except ValidationError as err:
        lines = []
        for problem in err.errors():
            key = ".".join(str(part) for part in problem["loc"]) or "config"
            reason = "unknown key" if problem["type"] == "extra_forbidden" else problem["msg"]
            if problem["type"] == "extra_forbidden" and key in QuantizationSettings.model_fields:  # an older layout
                reason += f"; the quantization study's settings are in its section: quantization.{key}"
            lines.append(f"config key {key}: {reason}")
        raise SettingsError("\n".join(lines)) from None
