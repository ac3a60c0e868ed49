"""Settings of the self-distillation study (Ren et al. 2023): upstreams with their exits, the three-part loss, the
authors' training schedule and waveform handling."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from serbench.errors import UnknownNameError
from serbench.settings.base import Corpus, LatencySettings, Section, Seeds
from serbench.settings.names import ExitVariant, Fold
from serbench.settings.ssl import distinct_names, upstream_name


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
    def fold_names(self) -> list[str]:
        """The folds the study's split writes, by name: one for ``fixed_speakers`` (its train, development and test
        speaker lists), else ``n_folds`` speaker folds."""
        return [Fold(str(f)).name for f in range(1 if self.protocol == "fixed_speakers" else self.n_folds)]

    @property
    def waveform_cache(self) -> Literal["raw", "ismail"]:
        """The waveform cache the study reads (:func:`serbench.ssl.waveforms.prepare_corpus`): the authors' code
        reads the raw waveform (16 kHz, nothing else)."""
        return "raw" if self.preparation == "authors" else "ismail"

    @model_validator(mode="after")
    def _distinct(self) -> SelfDistillSettings:
        distinct_names([u.pretrained for u in self.upstreams])
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
