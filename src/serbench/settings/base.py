"""What every config section shares: strict keys, immutability, and the value types used across studies."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Corpus = Literal["emodb", "tess", "ravdess", "cremad", "iemocap", "demos", "savee"]
ModelFamily = Literal["mlp", "lstm", "attention_gru", "cnn1d"]
InputLevel = Literal["utterance", "frames"]
# what each family reads: one vector per utterance, or its frames; the models' own attribute and the rules' input
# files both come from here (settings import no torch, so the rules ask them)
INPUT_LEVELS: dict[str, InputLevel] = {
    "mlp": "utterance",
    "lstm": "frames",
    "attention_gru": "frames",
    "cnn1d": "frames",
}
Bits = Annotated[int, Field(ge=1, le=8)]
Fraction = Annotated[float, Field(gt=0, lt=0.5)]
Probability = Annotated[float, Field(ge=0, le=1)]
Seeds = list[Annotated[int, Field(ge=0)]]


class Section(BaseModel):
    """A config section: unknown keys are errors, values are immutable (and hashable)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LatencySettings(Section):
    """CPU latency of one clip through each deployable model of a study, at each thread count."""

    seconds: float = Field(8.0, gt=0, description="clip length (s)")
    repeats: int = Field(10, ge=1, description="timed runs after warm-up; the median is reported")
    threads: list[Annotated[int, Field(ge=1)]] = Field([1, 2], min_length=1, description="CPU thread counts measured")
