"""Settings of the quantization study (Shinde et al. 2024): features, protocols, model families, training, bits."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from serbench.settings.base import (
    Bits,
    Corpus,
    LatencySettings,
    ModelFamily,
    Probability,
    Section,
    Seeds,
)
from serbench.settings.families import AttentionGRUSettings, CNN1DSettings, LSTMSettings, MLPSettings, SequenceSettings
from serbench.settings.names import EMOBOX_CORPORA, QuantizationVariant
from serbench.settings.splits import (
    CrossCorpusSettings,
    EmoBoxSplitSettings,
    RandomSplitSettings,
    SpeakerIndependentSettings,
)

FeatureSet = Literal["mfcc_chroma_mel", "egemaps"]
PAPER_FEATURES = "mfcc_chroma_mel"


class FeatureExtractionSettings(Section):
    """How one feature set is extracted (what the feature and latency steps read): the paper's MFCC + Chroma + Mel
    STFT settings (Shinde et al. 2024, Sec. 3; librosa's defaults) and the rate eGeMAPS reads audio at."""

    sample_rate: int = Field(16000, ge=8000, description="audio is resampled to this rate (Hz)")
    n_fft: int = Field(2048, ge=64, description="STFT window and FFT size (samples)")
    hop_length: int = Field(512, ge=1, description="STFT hop (samples)")
    n_mfcc: int = Field(40, ge=1, description="MFCCs per frame")
    n_chroma: int = Field(12, ge=1, description="chroma bins per frame")
    n_mels: int = Field(128, ge=1, description="mel bands per frame")

    @property
    def dim(self) -> int:
        """Values per frame or utterance (180 by default)."""
        return self.n_mfcc + self.n_chroma + self.n_mels


class FeatureSettings(FeatureExtractionSettings):
    """Feature sets of the quantization study: the paper's MFCC + Chroma + Mel (Shinde et al. 2024, Sec. 3; STFT
    settings are librosa's defaults) and eGeMAPS (Eyben et al. 2016, through openSMILE)."""

    sets: tuple[FeatureSet, ...] = Field(
        ("mfcc_chroma_mel", "egemaps"),
        min_length=1,
        description="feature sets, each read by every family, quantizer and allocator: mfcc_chroma_mel (the "
        "paper's 180 values per frame, their time-means per utterance), egemaps (eGeMAPSv02: 25 descriptors per "
        "10-ms frame, 88 functionals per utterance)",
    )


class TrainSettings(Section):
    """Paper Sec. 3, for every family: Adam, cross-entropy, batch 32, early stopping on validation accuracy."""

    learning_rate: float = Field(1e-3, gt=0, description="Adam step size")
    batch_size: int = Field(32, ge=1, description="utterances per step")
    max_epochs: int = Field(200, ge=1, description="upper bound on epochs; early stopping usually ends sooner")
    patience: int = Field(5, ge=1, description="epochs without a better validation accuracy before stopping")


class AdaptiveSettings(Section):
    """Layer-importance adaptive bit-widths (eqs. 1-5); the paper states neither alpha nor T_margin."""

    alpha: Probability = Field(0.5, description="weight of N_P in I(l) (eq. 3); 0.5 weighs N_P and N_V equally")
    entropy_weight: Probability = Field(
        0.0, description="weight of the journal version's weight-entropy term N_E (0 = eq. 3 as printed)"
    )
    t_margin: float = Field(0.05, ge=0, description="T_margin (eq. 4): allowed validation-accuracy drop at I(l) = 1")
    signal: Literal["accuracy", "log_likelihood"] = Field(
        "accuracy",
        description="what the search's margin is on: accuracy (eq. 4 as printed) or the mean log-likelihood of "
        "the true class (a drop in nats; moves with every utterance's confidence, not only with whole utterances)",
    )
    candidates: tuple[Bits, ...] = Field((1, 2, 3, 4, 5, 6, 7, 8), min_length=1, description="bit-widths searched")

    @model_validator(mode="after")
    def _weights_sum(self) -> AdaptiveSettings:
        if self.alpha + self.entropy_weight > 1:
            raise ValueError(f"alpha + entropy_weight = {self.alpha + self.entropy_weight} exceeds 1")
        return self


QuantizerName = Literal["uniform", "mse", "ternary", "symmetric"]


FINE_TUNED = QuantizationVariant("fp32", suffix="ft").name  # QAT's control: fine-tuned by its loop, no quantizer


class SVMSettings(Section):
    """The classic baseline (beyond the paper): a float SVM on each feature set's utterance-level features."""

    enabled: bool = Field(True, description="an svm row per feature set, dataset and protocol, on the same splits")
    kernels: tuple[Literal["linear", "rbf"], ...] = Field(("linear", "rbf"), min_length=1, description="kernels tried")
    c: tuple[Annotated[float, Field(gt=0)], ...] = Field(
        (0.01, 0.1, 1.0, 10.0, 100.0), min_length=1, description="C values tried, each with every kernel"
    )


class AllocatorCurveSettings(Section):
    """Allocators traced over their own knobs on the same trained models (beyond the paper): importance I(l)
    over T_margin (accuracy and log-likelihood margins), sensitivity, HAWQ-V2's Hessian trace and FIT's Fisher
    trace over b̄ budgets."""

    enabled: bool = Field(True, description="trace the curves (results/tables/allocators.csv and its plots)")
    quantizer: QuantizerName = Field("uniform", description="the one quantizer every curve uses")
    t_margins: tuple[Annotated[float, Field(ge=0)], ...] = Field(
        (0.02, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6), min_length=1, description="T_margin values of the importance curves"
    )
    budgets: tuple[Annotated[float, Field(ge=1)], ...] = Field(
        (1.25, 1.5, 2.0, 3.0, 4.0, 6.0), min_length=1, description="b̄ budgets of the sensitivity and Hessian curves"
    )
    hessian_estimator: Literal["auto", "gauss_newton", "hutchinson"] = Field(
        "auto",
        description="HAWQ's Hessian traces: gauss_newton (their Gauss-Newton part from plain backward passes; exact "
        "for the MLP and 1DCNN), hutchinson (HAWQ-V2's: hessian_samples Hessian-vector products), auto (each "
        "family's own: gauss_newton for the MLP, 1DCNN and LSTM, hutchinson for the AttentionGRU)",
    )
    trace_batch: int = Field(
        8,
        ge=1,
        description="utterances per backward pass of the Gauss-Newton traces and of FIT's Fisher traces beside them, "
        "each with its own random signs (unbiased at any size; larger: faster, noisier)",
    )
    fit_batch: int = Field(
        32,
        ge=1,
        description="utterances per backward pass of FIT's Fisher traces where they run alone, beside Hutchinson's "
        "Hessian traces (the AttentionGRU's; beside Gauss-Newton traces they share trace_batch's passes): 32, half "
        "the CPU of 8 there and the same widths within the estimator's noise (docs/running.md)",
    )
    hessian_samples: int = Field(
        8,
        ge=1,
        description="Rademacher vectors of Hutchinson's trace estimate (8: the AttentionGRU's HAWQ widths as 32 give "
        "them, a quarter of the cost; docs/running.md)",
    )
    hessian_utterances: int = Field(256, ge=1, description="training utterances the Hessian and Fisher traces read")
    hutchinson_utterances: int = Field(
        64,
        ge=1,
        description="of those, the ones Hutchinson's Hessian-vector products read (each a double backward pass; "
        "the Gauss-Newton and Fisher traces read them all)",
    )


class QATSettings(Section):
    """Quantization-aware fine-tuning (beyond the paper): straight-through estimator from the trained model."""

    families: list[ModelFamily] = Field(
        ["mlp"],
        description="model families fine-tuned (each costs a few training epochs), with the fp32+ft control: the "
        "float32 model fine-tuned by the same loop, no quantizer",
    )
    quantizers: list[QuantizerName] = Field(["uniform"], description="quantizers whose assignments are fine-tuned")
    fixed_bits: tuple[Bits, ...] = Field((2,), description="fixed widths fine-tuned (variants fixed<b>+qat)")
    adaptive: bool = Field(True, description="fine-tune the adaptive assignment too (variant adaptive+qat)")
    sensitivity: bool = Field(
        True, description="fine-tune the sensitivity allocator's assignment too (variant sensitivity+qat)"
    )
    epochs: int = Field(10, ge=1, description="upper bound on epochs")
    patience: int = Field(3, ge=1, description="epochs without a better quantized validation accuracy")
    learning_rate: float = Field(1e-4, gt=0, description="Adam step size")


class _VariantNames(Section):
    """The rows a family gets of one quantizer, for the whole section and the quantize step alike."""

    def variants(self, family: str, quantizer: str) -> list[str]:
        """Variant names of one quantizer for a model family: fixed widths, adaptive, sensitivity, QAT rows.

        >>> QuantizationSettings(fixed_bits=(2, 8)).variants("mlp", "uniform")
        ['fixed8', 'fixed2', 'adaptive', 'sensitivity', 'fixed2+qat', 'adaptive+qat', 'sensitivity+qat']
        >>> QuantizationSettings(fixed_bits=(2,), sensitivity=False).variants("lstm", "uniform")
        ['fixed2', 'adaptive']
        """
        variants = [QuantizationVariant("fixed", b) for b in sorted(self.fixed_bits, reverse=True)]
        variants += [QuantizationVariant("adaptive")] + (
            [QuantizationVariant("sensitivity")] if self.sensitivity else []
        )
        if family in self.qat.families and quantizer in self.qat.quantizers:
            variants += [QuantizationVariant("fixed", b, "qat") for b in sorted(self.qat.fixed_bits, reverse=True)]
            variants += [QuantizationVariant("adaptive", None, "qat")] if self.qat.adaptive else []
            if self.qat.sensitivity and self.sensitivity:
                variants.append(QuantizationVariant("sensitivity", None, "qat"))
        return [v.name for v in variants]


class QuantizationSettings(_VariantNames):
    """The quantization study's section: its corpora, protocols and seeds, the model families and their training,
    then the quantizers, fixed bit-widths, the paper's adaptive scheme, a sensitivity allocator and QAT."""

    corpora: list[Corpus] = Field(["emodb", "tess"], min_length=1, description="corpora of the study")
    features: FeatureSettings = FeatureSettings()
    protocols: list[Literal["random", "speaker_independent", "emobox"]] = Field(
        ["random", "speaker_independent", "emobox"],
        description="protocols of the single-corpus experiments: the paper's random split, speaker folds, and "
        "EmoBox's published folds (the field's benchmark; speakers shared on EmoDB)",
    )
    random: RandomSplitSettings = RandomSplitSettings()
    speaker_independent: SpeakerIndependentSettings = SpeakerIndependentSettings()
    emobox: EmoBoxSplitSettings = EmoBoxSplitSettings()
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
    svm: SVMSettings = SVMSettings()
    quantizers: list[QuantizerName] = Field(
        ["uniform", "mse", "ternary"],
        min_length=1,
        description="uniform: 2^b levels min-max per tensor (default; the paper names none); mse: per-channel, "
        "MSE-optimal clipping; ternary: TWN at 2 bits, XNOR at 1; symmetric: 2^(b-1)-1 levels a side "
        "(earlier releases)",
    )
    fixed_bits: tuple[Bits, ...] = Field((8, 7, 6, 5, 4, 3, 2, 1), description="fixed widths applied to every layer")
    adaptive: AdaptiveSettings = AdaptiveSettings()
    sensitivity: bool = Field(
        True, description="also allocate by measured validation-loss increase at the adaptive variant's b̄"
    )
    qat: QATSettings = QATSettings()
    curves: AllocatorCurveSettings = AllocatorCurveSettings()
    search_fraction: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="share of each fold's validation utterances set aside for the bit search (stratified); "
        "the rest chose the early-stopping epoch",
    )
    latency: LatencySettings = Field(
        LatencySettings(),
        description="CPU latency of each family on one clip: feature extraction plus classifier (a packed model "
        "runs unpacked as float32, so every variant of a family has its latency)",
    )

    def fold_count(self, dataset: str, protocol: str) -> int:
        """Folds a cell's split writes: ``n_folds`` of the dataset for speaker folds, EmoBox's count of the corpus
        for ``emobox``, else one."""
        if protocol == "speaker_independent":
            return self.speaker_independent.n_folds[dataset]
        if protocol == "emobox":
            from serbench.emobox import fold_count

            return fold_count(dataset)
        return 1

    @model_validator(mode="after")
    def _consistent(self) -> QuantizationSettings:
        for name in ("corpora", "protocols", "seeds", "models"):
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise ValueError(f"{name} lists a value twice: {values}")
        if "speaker_independent" in self.protocols:
            missing = [c for c in self.corpora if c not in self.speaker_independent.n_folds]
            if missing:
                raise ValueError(f"speaker_independent.n_folds has no entry for {missing}")
        uncovered = [c for c in self.corpora if c not in EMOBOX_CORPORA]
        if "emobox" in self.protocols and uncovered:
            raise ValueError(f"protocol emobox: EmoBox publishes no folds for {uncovered} (it has {EMOBOX_CORPORA})")
        for experiment in self.cross_corpus:
            if experiment.test in experiment.train:
                raise ValueError(f"cross_corpus: test corpus {experiment.test!r} is also a training corpus")
        return self

    def cross_corpus_datasets(self) -> dict[str, CrossCorpusSettings]:
        """Cross-corpus experiments by dataset name (``emodb_to_ravdess``)."""
        return {f"{'_'.join(e.train)}_to_{e.test}": e for e in self.cross_corpus}
