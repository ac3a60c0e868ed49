"""Settings of the quantization study (Shinde et al. 2024): features, protocols, model families, training, bits."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from serbench.settings.base import Bits, Corpus, Fraction, Probability, Section


class FeatureSettings(Section):
    """MFCC + Chroma + Mel features (Shinde et al. 2024, Sec. 3; STFT settings are librosa's defaults)."""

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


class RandomSplitSettings(Section):
    """The paper's stratified random split (80/10/10; speakers shared between subsets)."""

    validation_fraction: Fraction = Field(0.1, description="share of all utterances that validate")
    test_fraction: Fraction = Field(0.1, description="share of all utterances that test")


class SpeakerIndependentSettings(Section):
    """Speaker (or session) folds: each group of speakers tests once."""

    n_folds: dict[Corpus, Annotated[int, Field(ge=2)]] = Field(
        {"emodb": 10, "tess": 2, "ravdess": 6, "cremad": 5, "iemocap": 5, "demos": 5},
        description="folds per corpus (EmoDB 10 = leave-one-speaker-out, TESS 2, RAVDESS 6 groups of 4 actors)",
    )
    validation_speakers: int = Field(1, ge=1, description="training speakers held out to validate")
    validation_fraction: Fraction = Field(
        0.1, description="with too few training speakers to hold one out (TESS), a stratified share of theirs"
    )


class CrossCorpusSettings(Section):
    """Train (and validate) on ``train``, test on all of ``test``, on the emotions they share."""

    train: list[Corpus] = Field(min_length=1)
    test: Corpus


class MLPSettings(Section):
    """The paper's MLP (Sec. 2.1): hidden 256/512/64, ReLU, dropout 0.1."""

    hidden: tuple[Annotated[int, Field(ge=1)], ...] = Field((256, 512, 64), min_length=1)
    dropout: Probability = 0.1


class LSTMSettings(Section):
    """One LSTM layer; its last valid state classifies."""

    hidden: int = Field(128, ge=1)
    dropout: Probability = 0.1


class AttentionGRUSettings(Section):
    """A GRU layer pooled by additive attention."""

    hidden: int = Field(128, ge=1)
    attention_dim: int = Field(64, ge=1)
    dropout: Probability = 0.1


class CNN1DSettings(Section):
    """Two 1-D convolutions over frames, masked mean pooling."""

    channels: int = Field(96, ge=1)
    kernel_size: int = Field(5, ge=1)
    dropout: Probability = 0.1


class SequenceSettings(Section):
    """Frame-level inputs of the sequence families."""

    max_frames: int = Field(256, ge=1, description="sequences are cut to this many frames (256 × 512 / 16 kHz = 8.2 s)")


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
    candidates: tuple[Bits, ...] = Field((1, 2, 3, 4, 5, 6, 7, 8), min_length=1, description="bit-widths searched")

    @model_validator(mode="after")
    def _weights_sum(self) -> AdaptiveSettings:
        if self.alpha + self.entropy_weight > 1:
            raise ValueError(f"alpha + entropy_weight = {self.alpha + self.entropy_weight} exceeds 1")
        return self


class QuantizationSettings(Section):
    """Fixed bit-widths for every layer, and the adaptive scheme."""

    fixed_bits: tuple[Bits, ...] = Field((8, 7, 6, 5, 4, 3, 2, 1), description="fixed widths applied to every layer")
    adaptive: AdaptiveSettings = AdaptiveSettings()

    def variants(self) -> list[str]:
        """Variant names: ``fp32``, ``fixed<b>`` widest first, ``adaptive``.

        >>> QuantizationSettings(fixed_bits=(2, 8)).variants()
        ['fp32', 'fixed8', 'fixed2', 'adaptive']
        """
        return ["fp32", *(f"fixed{b}" for b in sorted(self.fixed_bits, reverse=True)), "adaptive"]
