"""Settings of the two self-supervised-encoder studies: shared waveform preparation, DistilHuBERT, self-distillation."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from serbench.settings.base import Corpus, Probability, Section, Seeds

Architecture = Literal["distilhubert", "hubert-base", "wav2vec2-base", "wavlm-base"]
Range = tuple[float, float]


class WaveformSettings(Section):
    """Waveform preparation for the encoders (Ismail, Sec. III-B); shared by both SSL studies."""

    sample_rate: Literal[16000] = Field(16000, description="Hz, what the encoders were pretrained on")
    trim_db: float = Field(20.0, gt=0, description="leading/trailing silence threshold below peak (dB)")
    pre_emphasis: Probability = Field(0.97, description="coefficient c of 1 - c z^-1 (0 disables)")
    peak: float = Field(0.95, gt=0, le=1, description="peak amplitude after normalisation")
    max_seconds: float = Field(8.0, gt=0, description="longer utterances are cut to this (s)")


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
    """Downstream head: mean pooling over time, optionally a learned weighted sum of layers, two linear layers."""

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


class LatencySettings(Section):
    """CPU latency measurement on the full-size architecture (random weights)."""

    seconds: float = Field(8.0, gt=0, description="clip length (s)")
    repeats: int = Field(10, ge=1, description="timed runs after warm-up; the median is reported")
    threads: list[Annotated[int, Field(ge=1)]] = Field([1, 2], min_length=1, description="CPU thread counts measured")


class DistilHubertSettings(Section):
    """The DistilHuBERT study (Ismail). The paper: IEMOCAP 5-fold leave-one-session-out, CREMA-D as extra
    training corpus, RAVDESS as cross-corpus test; the default runs on EmoDB speaker folds with TESS."""

    pretrained: str = Field("ntu-spml/distilhubert", description="hub id or local save_pretrained folder")
    architecture: Architecture = Field("distilhubert", description="full-size config for sizes and latencies")
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
    label_map: Literal["all", "four_class"] = "four_class"
    seeds: Seeds = Field([0], min_length=1)
    latency: LatencySettings = LatencySettings()
    calibration_utterances: int = Field(
        32, ge=1, description="training utterances that calibrate the static int8 model's activation ranges"
    )
    deployed_int8: Literal["mixed", "static", "dynamic"] = Field(
        "mixed",
        description="int8 scheme of the deployable model.int8.onnx: mixed (static int8 with float activations in the "
        "CNN: the paper's size, float-like fidelity, 2x PyTorch), static (whole encoder: twice as fast again, but it "
        "loses quiet frames), dynamic (MatMul/Gemm only)",
    )


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
    min_seconds: float = Field(1.0, ge=0, description="clips are padded to this so time masking fits (s)")


Variant = Annotated[str, Field(pattern=r"^(conv|lstm|gru)-(l1|l2|cosine)(\+(l1|l2|cosine))*$")]


class SelfDistillSettings(Section):
    """The self-distillation study (Ren et al. 2023): wav2vec2 fine-tuned with student exits."""

    pretrained: str = Field("facebook/wav2vec2-base", description="hub id or local save_pretrained folder")
    architecture: Architecture = "wav2vec2-base"
    encoder_layers: int = Field(12, ge=1, description="transformer layers of the teacher")
    corpus: Corpus = "emodb"
    protocol: Literal["speaker_independent", "fixed_speakers"] = "speaker_independent"
    n_folds: int = Field(2, ge=2)
    validation_speakers: int = Field(1, ge=1)
    speakers: SpeakerLists | None = None
    exclude_emotions: list[str] = Field([], description="left out before splitting (the paper drops DEMoS neutral)")
    exit_layers: tuple[Annotated[int, Field(ge=1)], ...] = (3, 8, 10)
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
