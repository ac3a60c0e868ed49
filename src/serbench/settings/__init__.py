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
from serbench.settings.base import Corpus, ModelFamily, Section, Seeds
from serbench.settings.quantization import (
    AdaptiveSettings,
    AttentionGRUSettings,
    CNN1DSettings,
    CrossCorpusSettings,
    FeatureSettings,
    LSTMSettings,
    MLPSettings,
    QATSettings,
    QuantizationSettings,
    RandomSplitSettings,
    SequenceSettings,
    SpeakerIndependentSettings,
    SVMSettings,
    TrainSettings,
)
from serbench.settings.ssl import DistilHubertSettings, SelfDistillSettings, WaveformSettings

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
    corpora: list[Corpus] = Field(["emodb", "tess"], min_length=1, description="corpora of the quantization study")
    features: FeatureSettings = FeatureSettings()
    protocols: list[Literal["random", "speaker_independent"]] = Field(
        ["random", "speaker_independent"], description="protocols of the single-corpus experiments"
    )
    random: RandomSplitSettings = RandomSplitSettings()
    speaker_independent: SpeakerIndependentSettings = SpeakerIndependentSettings()
    cross_corpus: list[CrossCorpusSettings] = Field(
        [CrossCorpusSettings(train=["emodb"], test="ravdess"), CrossCorpusSettings(train=["tess"], test="ravdess")],
        description="cross-corpus experiments, named <train>_to_<test>",
    )
    cross_corpus_normalisation: list[Literal["none", "corpus", "speaker"]] = Field(
        ["none", "corpus", "speaker"],
        min_length=1,
        description="feature standardisation of cross-corpus experiments, each a protocol of its own: none (the "
        "model's own, fitted on training data), corpus or speaker (each corpus's or speaker's features with its "
        "own statistics, as Schuller et al. 2010; protocols cross_corpus_per_corpus, cross_corpus_per_speaker)",
    )
    seeds: Seeds = Field(list(range(10)), min_length=1, description="seeds of split, initialisation and shuffling")
    models: list[ModelFamily] = Field(
        ["mlp", "lstm", "attention_gru", "cnn1d"],
        min_length=1,
        description="model families: the paper's MLP (Tables 1-2) and the other three of its Fig. 2 (lstm, "
        "attention_gru, cnn1d; 3-7x the MLP's CPU per cell on EmoDB: training, quantization, allocator curves)",
    )
    mlp: MLPSettings = MLPSettings()
    lstm: LSTMSettings = LSTMSettings()
    attention_gru: AttentionGRUSettings = AttentionGRUSettings()
    cnn1d: CNN1DSettings = CNN1DSettings()
    sequences: SequenceSettings = SequenceSettings()
    train: TrainSettings = TrainSettings()
    quantization: QuantizationSettings = QuantizationSettings()
    svm: SVMSettings = SVMSettings()
    waveform: WaveformSettings = WaveformSettings()
    distilhubert: DistilHubertSettings = DistilHubertSettings()
    selfdistill: SelfDistillSettings = SelfDistillSettings()

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        for name in ("studies", "corpora", "protocols", "seeds", "models"):
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise ValueError(f"{name} lists a value twice: {values}")
        if "speaker_independent" in self.protocols:
            missing = [c for c in self.corpora if c not in self.speaker_independent.n_folds]
            if missing:
                raise ValueError(f"speaker_independent.n_folds has no entry for {missing}")
        for experiment in self.cross_corpus:
            if experiment.test in experiment.train:
                raise ValueError(f"cross_corpus: test corpus {experiment.test!r} is also a training corpus")
        return self

    def cross_corpus_datasets(self) -> dict[str, CrossCorpusSettings]:
        """Cross-corpus experiments by dataset name (``emodb_to_ravdess``)."""
        return {f"{'_'.join(e.train)}_to_{e.test}": e for e in self.cross_corpus}


class SettingsError(SerbenchError, ValueError):
    """A config that does not validate; the message has one line per error, each naming its key."""


def load_settings(config: dict) -> Settings:
    """Validate a Snakemake config dict.

    Raises:
        SettingsError: one line per problem, ``key.path: reason``; an unknown
            key is named without printing the schema.
    """
    try:
        return Settings.model_validate(config)
    except ValidationError as err:
        lines = []
        for problem in err.errors():
            key = ".".join(str(part) for part in problem["loc"]) or "config"
            reason = "unknown key" if problem["type"] == "extra_forbidden" else problem["msg"]
            lines.append(f"config key {key}: {reason}")
        raise SettingsError("\n".join(lines)) from None
