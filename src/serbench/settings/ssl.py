"""Settings shared by the two self-supervised-encoder studies (upstream names, waveform preparation) and the
DistilHuBERT study's (Ismail); the self-distillation study's are in :mod:`serbench.settings.selfdistill`."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from serbench.settings.base import Corpus, LatencySettings, Probability, Section, Seeds
from serbench.settings.names import EMOBOX_CORPORA, PRODUCTION_FOLD, Fold


def upstream_name(pretrained: str) -> str:
    """The name of an upstream in paths and table rows: its last path part, lower case, ``[a-z0-9-]``.

    >>> upstream_name("openai/whisper-tiny.en"), upstream_name("models/W2V2_small/")
    ('whisper-tiny-en', 'w2v2-small')
    """
    return re.sub(r"[^a-z0-9]+", "-", pretrained.rstrip("/").rsplit("/", 1)[-1].lower()).strip("-")


def distinct_names(upstreams: list[str]) -> list[str]:
    names = [upstream_name(u) for u in upstreams]
    if len(set(names)) != len(names):
        raise ValueError(f"two upstreams share a name in paths ({names}); rename a local folder")
    return upstreams


Upstreams = Annotated[list[str], Field(min_length=1), AfterValidator(distinct_names)]

Range = tuple[float, float]


class WaveformSettings(Section):
    """Waveform preparation for the encoders (Ismail, Sec. III-B); shared by both SSL studies."""

    sample_rate: Literal[16000] = Field(16000, description="Hz, what the encoders were pretrained on")
    trim_db: float = Field(20.0, gt=0, description="leading/trailing silence threshold below peak (dB)")
    pre_emphasis: Probability = Field(0.97, description="coefficient c of 1 - c z^-1 (0 disables)")
    peak: float = Field(0.95, gt=0, le=1, description="peak amplitude after normalisation")
    max_seconds: float = Field(8.0, gt=0, description="longer utterances are cut to this (s)")
    whisper_input: Literal["clip", "pad30"] = Field(
        "clip",
        description="Whisper encoders: clip (positional embeddings cut to the clip, padded frames masked; measured as "
        "accurate as pad30 at a fraction of its cost, see docs/distilhubert.md) or pad30 (every clip padded to 30 s, "
        "as trained)",
    )


class AugmentSettings(Section):
    """Training-time augmentation (Ismail, Sec. III-B); the probabilities are not in the paper."""

    gain_probability: Probability = 0.5
    gain_db: Range = Field((-18.0, 6.0), description="random gain range (dB)")
    noise_probability: Probability = 0.5
    noise_amplitude: Range = Field((0.001, 0.015), description="Gaussian noise std range")
    pitch_probability: Probability = 0.3
    pitch_semitones: Range = Field((-2.0, 2.0), description="pitch shift range (semitones)")
    polarity_probability: Probability = 0.5


class HeadSettings(Section):
    """Downstream head: mean pooling over time, standardisation (frozen encoder: the training subset's statistics),
    optionally a learned weighted sum of layers, two linear layers."""

    layer_weights: bool = Field(False, description="learn a softmax-weighted sum of layers (SUPERB); else the last")
    head_hidden: int = Field(256, ge=1, description="width of the first linear layer")
    dropout: Probability = 0.1


class HeadTrainSettings(Section):
    """Ismail Sec. III-D: AdamW, cosine schedule with warm-up, focal loss, early stopping on validation UA."""

    learning_rate: float = Field(5e-5, gt=0, description="peak learning rate")
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: Probability = Field(0.1, description="share of steps with linear warm-up")
    batch_size: int = Field(16, ge=1)
    epochs: int = Field(25, ge=1)
    patience: int = Field(6, ge=1, description="epochs without a better validation UA before stopping")
    gamma: float = Field(2.0, ge=0, description="focal-loss focusing parameter")
    label_smoothing: Probability = 0.1


class DistilHubertSettings(Section):
    """The DistilHuBERT study (Ismail). The paper: IEMOCAP 5-fold leave-one-session-out, CREMA-D as extra
    training corpus, RAVDESS as cross-corpus test; the default runs on EmoDB speaker folds with TESS."""

    upstreams: Upstreams = Field(
        ["ntu-spml/distilhubert"],
        description="speech encoders compared side by side: hub ids or local save_pretrained folders, wav2vec2 family "
        "(DistilHuBERT, wav2vec2, HuBERT, WavLM) or Whisper; each names its rows and output paths",
    )
    finetune: bool = Field(
        True,
        description="the paper's recipe: the transformer trains with the head, the CNN feature encoder frozen (a GPU "
        "makes it practical; the train rule declares gpu=1). false: a head on frozen encoder states, fast on a CPU",
    )
    views: int = Field(2, ge=0, description="augmented copies cached per utterance (frozen encoder)")
    augment_seed: int = Field(0, ge=0)
    augment: AugmentSettings = AugmentSettings()
    head: HeadSettings = HeadSettings()
    train: HeadTrainSettings = HeadTrainSettings()
    corpus: Corpus = "emodb"
    group_by: Literal["speaker", "session"] = "speaker"
    n_folds: int = Field(5, ge=2)
    validation_speakers: int = Field(1, ge=1)
    extra_train: list[Corpus] = Field(["tess"], description="corpora added to every training subset")
    cross_corpus_test: Corpus | None = "ravdess"
    production_validation: Annotated[float, Field(gt=0, lt=1)] | None = Field(
        0.05,
        description="the paper's production model beside the folds: one model per setting and seed trained on all of "
        "the study corpus but this stratified random share, which picks the epoch (95/5), scored on "
        "cross_corpus_test; null: fold models only",
    )
    emobox: bool = Field(
        True,
        description="also the setting emobox: EmoBox's published folds of the corpus (corpus only, no production "
        "model; a stratified 10 % of each fold's training utterances validates), whose UA beside the speaker folds' "
        "measures speaker overlap",
    )
    label_map: Literal["all", "four_class"] = "four_class"
    seeds: Seeds = Field([0], min_length=1)
    latency: LatencySettings = LatencySettings()
    calibration_utterances: int = Field(
        32, ge=1, description="training utterances that calibrate the static int8 model's activation ranges"
    )
    deployed_int8: Literal["measured", "mixed", "static", "dynamic", "dynamic_ffn_float"] = Field(
        "measured",
        description="int8 scheme of each upstream's deployable model.int8.onnx: measured (the fastest scheme at 1 "
        "thread among those faster than float ONNX losing at most max_int8_uar_loss of UA over the test folds; "
        "when none does, the one losing least, flagged), or one scheme: mixed (static with float activations in "
        "the CNN), static, dynamic (MatMul/Gemm), "
        "dynamic_ffn_float (dynamic, the feed-forward down-projections float)",
    )
    max_int8_uar_loss: float = Field(0.01, ge=0, description="UA an int8 scheme may lose to be deployed (measured)")
    baseline: bool = Field(
        True, description="a logistic-regression row on the head's own pooled states, same folds (frozen encoder)"
    )

    @property
    def deployed_fold(self) -> str:
        """The head the study deploys, by fold name: the model trained on every speaker (``production``) of the
        corpus-only setup, or its first fold without ``production_validation``."""
        return Fold(PRODUCTION_FOLD if self.production_validation is not None else "0").name

    def fold_names(self, setup: str, production: bool = True) -> list[str]:
        """The folds a setup's split writes, by name (``fold0``, ..., ``production``): EmoBox's folds of the corpus
        for ``emobox``, else ``n_folds`` speaker folds and, with ``production_validation`` and ``production``, the
        model trained on every speaker."""
        from serbench.emobox import fold_count

        names = [Fold(str(f)).name for f in range(fold_count(self.corpus) if setup == "emobox" else self.n_folds)]
        with_production = production and self.production_validation is not None and setup != "emobox"
        return names + ([Fold(PRODUCTION_FOLD).name] if with_production else [])

    @model_validator(mode="after")
    def _emobox_covers_the_corpus(self) -> DistilHubertSettings:
        if self.emobox and self.corpus not in EMOBOX_CORPORA:
            raise ValueError(
                f"emobox: EmoBox publishes no folds for {self.corpus!r} (it has {EMOBOX_CORPORA}); set emobox: false"
            )
        return self
