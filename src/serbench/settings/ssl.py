"""Settings of the two self-supervised-encoder studies: shared waveform preparation, DistilHuBERT, self-distillation."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from serbench.errors import UnknownNameError
from serbench.settings.base import Corpus, LatencySettings, Probability, Section, Seeds
from serbench.settings.names import EMOBOX_CORPORA, ExitVariant


def upstream_name(pretrained: str) -> str:
    """The name of an upstream in paths and table rows: its last path part, lower case, ``[a-z0-9-]``.

    >>> upstream_name("openai/whisper-tiny.en"), upstream_name("models/W2V2_small/")
    ('whisper-tiny-en', 'w2v2-small')
    """
    return re.sub(r"[^a-z0-9]+", "-", pretrained.rstrip("/").rsplit("/", 1)[-1].lower()).strip("-")


def _distinct_names(upstreams: list[str]) -> list[str]:
    names = [upstream_name(u) for u in upstreams]
    if len(set(names)) != len(names):
        raise ValueError(f"two upstreams share a name in paths ({names}); rename a local folder")
    return upstreams


Upstreams = Annotated[list[str], Field(min_length=1), AfterValidator(_distinct_names)]

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

    @model_validator(mode="after")
    def _emobox_covers_the_corpus(self) -> DistilHubertSettings:
        if self.emobox and self.corpus not in EMOBOX_CORPORA:
            raise ValueError(
                f"emobox: EmoBox publishes no folds for {self.corpus!r} (it has {EMOBOX_CORPORA}); set emobox: false"
            )
        return self


class SpeakerLists(Section):
    """Fixed speaker-independent subsets (DEMoS: Ren et al. 2020's lists, not printed in the paper)."""

    train: list[str] = Field(min_length=1)
    validation: list[str] = Field(min_length=1)
    test: list[str] = Field(min_length=1)


class DistillLossSettings(Section):
    """Ren et al. 2023, eqs. 1-4: L = L_ce + alpha L_kl + beta L_sim, students' CE weighted by gamma."""

    alpha: float = Field(1.0, ge=0)
    beta: float = Field(1.0, ge=0)
    gamma: float = Field(1.0, ge=0)
    similarity_on: Literal["embedding", "linear"] = "embedding"
    temperature: float = Field(1.0, gt=0)
    kl_form: Literal["standard", "authors"] = Field(
        "standard", description="authors: probabilities where kl_div expects log-probabilities, as their code"
    )
    detach_teacher: bool = Field(
        False, description="cut the teacher's gradient in the KL and similarity terms (the authors' code does not)"
    )
    cosine_form: Literal["authors", "negative"] = Field(
        "authors", description="the cosine similarity loss: -log sigmoid(cos) (the authors' code) or -cos"
    )


class DistillTrainSettings(Section):
    """Paper: Adam, lr 3e-5, batch 16, 20 epochs, then retrained on train + development."""

    learning_rate: float = Field(3e-5, gt=0)
    batch_size: int = Field(16, ge=1)
    epochs: int = Field(20, ge=1)
    selection: Literal["retrain", "best_epoch"] = Field(
        "retrain",
        description="retrain (the paper): every epoch on train, validation scored at the last, then a fresh model "
        "trained as long on train + validation is tested; best_epoch: the teacher's best validation epoch is tested",
    )
    min_seconds: float = Field(1.0, ge=0, description="batching pad: clips are padded to this so time masking fits (s)")


Variant = Annotated[str, Field(pattern=f"^(?:{ExitVariant.EXITS})$")]


class SelfDistillUpstream(Section):
    """One upstream of the self-distillation study and where its student exits sit."""

    pretrained: str = Field(description="hub id or local save_pretrained folder")
    layers: int = Field(ge=2, description="its transformer layers (checked when loaded): the teacher's depth")
    exit_layers: tuple[Annotated[int, Field(ge=1)], ...] = Field(description="inner layers with a student exit")

    @model_validator(mode="after")
    def _inner(self) -> SelfDistillUpstream:
        if not self.exit_layers or any(a >= self.layers for a in self.exit_layers):
            raise ValueError(f"exit_layers {list(self.exit_layers)} must be inner layers, 1..{self.layers - 1}")
        return self


class _UpstreamByName(Section):
    """Finding an upstream of ``upstreams`` by its name in paths, for the whole section and its steps alike."""

    def upstream(self, name: str) -> SelfDistillUpstream:
        """The upstream whose :func:`upstream_name` is ``name``.

        Raises:
            KeyError: no such upstream (the message lists them).
        """
        named = {upstream_name(u.pretrained): u for u in self.upstreams}
        if name not in named:
            raise UnknownNameError(f"selfdistill.upstreams has no upstream named {name!r}; named: {sorted(named)}")
        return named[name]


class SelfDistillSettings(_UpstreamByName):
    """The self-distillation study (Ren et al. 2023): wav2vec2 fine-tuned with student exits."""

    upstreams: list[SelfDistillUpstream] = Field(
        [SelfDistillUpstream(pretrained="facebook/wav2vec2-base", layers=12, exit_layers=(3, 8, 10))],
        min_length=1,
        description="encoders with their exits (Ren et al.: wav2vec2-base, exits 3, 8, 10; Whisper tiny: 1, 2, 3)",
    )

    @property
    def waveform_cache(self) -> Literal["raw", "ismail"]:
        """The waveform cache the study reads (:func:`serbench.ssl.waveforms.prepare_corpus`): the authors' code
        reads the raw waveform (16 kHz, nothing else)."""
        return "raw" if self.preparation == "authors" else "ismail"

    @model_validator(mode="after")
    def _distinct(self) -> SelfDistillSettings:
        _distinct_names([u.pretrained for u in self.upstreams])
        return self

    finetune: bool = Field(
        True,
        description="the paper: the encoder trains with the exits (wants a GPU). false: the encoder is frozen, its "
        "states cached once per corpus, teacher and exits trained on them (CPU)",
    )
    preparation: Literal["authors", "ismail"] = Field(
        "authors",
        description="waveforms as the authors' code reads them (16 kHz, nothing else) or with Ismail's trim, "
        "pre-emphasis, peak normalisation and cut (the shared waveform section)",
    )
    batching: Literal["tile", "pad"] = Field(
        "tile", description="tile: every clip tiled or cut to clip_seconds (the authors'); pad: zero-padded, masked"
    )
    clip_seconds: float = Field(5.984, gt=0, description="tiled length (s): the authors' 95,744 samples")
    layerdrop: Literal["checkpoint", "off"] = Field(
        "checkpoint", description="LayerDrop in training as the checkpoint sets it (the authors') or off"
    )
    init: Literal["he_uniform", "pytorch"] = Field(
        "he_uniform", description="exit and head initialisation: the authors' He-uniform, zero bias; or PyTorch's"
    )
    corpus: Corpus = "emodb"
    protocol: Literal["speaker_independent", "fixed_speakers"] = "speaker_independent"
    n_folds: int = Field(2, ge=2)
    validation_speakers: int = Field(1, ge=1)
    speakers: SpeakerLists | None = None
    exclude_emotions: list[str] = Field([], description="left out before splitting (the paper drops DEMoS neutral)")
    variants: list[Variant] = Field(["conv-l2", "lstm-l2", "gru-l2"], description="Table 1 grid, BLOCK-SIM[+SIM]")
    baselines: bool = Field(True, description="also fine-tune without exits at every exit depth and full depth")
    head_hidden: int = Field(256, ge=1)
    blocks: Literal["authors", "plain"] = Field(
        "authors",
        description="authors: 1x1 conv without bias + BatchNorm + ReLU, LSTM/GRU + LayerNorm + SELU (their code); "
        "plain: the bare block as the paper's text reads",
    )
    head_relu: bool = Field(False, description="a ReLU between the head's two linear layers (the authors' have none)")
    loss: DistillLossSettings = DistillLossSettings()
    train: DistillTrainSettings = DistillTrainSettings()
    seeds: Seeds = Field([0], min_length=1)
    latency: LatencySettings = LatencySettings(repeats=5)
    calibration_utterances: int = Field(
        32, ge=1, description="training utterances that calibrate the static int8 exits' activation ranges"
    )
    int8_scheme: Literal["static", "mixed", "dynamic", "dynamic_ffn_float"] = Field(
        "static",
        description="ONNX Runtime int8 scheme of the exported exits (the DistilHuBERT study's three; static "
        "activation grids fail on Whisper's activations, see its int8 table)",
    )
