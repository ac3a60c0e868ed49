"""What every config section shares: strict keys, immutability, and the value types used across studies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model

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

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> Self:
        """These settings from a rule's ``params``, which must hold every one of their keys: a step never sees a
        default in place of the run's value (and a value it reads always reruns it when changed).

        Raises:
            ValueError: a key missing from ``params`` (the message names the model and the keys; a rule out of step
                with its script, so the traceback stays).
        """
        missing = sorted(set(cls.model_fields) - set(params))
        if missing:
            raise ValueError(f"{cls.__name__}: the rule's params lack {', '.join(missing)}; pass the step every key")
        return cls.model_validate(dict(params))

    def part(self, step: type[StepT]) -> StepT:
        """The part of these settings a step reads: ``step`` made by :func:`step_settings` from this section."""
        return step(**self.model_dump(include=set(step.model_fields)))


StepT = TypeVar("StepT", bound=Section)


def step_settings(
    section: type[Section], keys: Sequence[str], name: str, doc: str, base: type[Section] = Section
) -> type[Section]:
    """The settings model of one step: the ``keys`` of ``section`` it reads, with their types, defaults and checks.

    A rule passes the step exactly these keys (``section.part(model)``, dumped), so a change to another key reruns
    nothing, and the script reads them back whole (:meth:`Section.from_params`). ``base`` carries methods the step
    calls on them.

    Raises:
        KeyError: a key ``section`` does not have.
    """
    unknown = sorted(set(keys) - set(section.model_fields))
    if unknown:
        raise KeyError(f"{section.__name__} has no keys {unknown}")
    fields = {key: (section.model_fields[key].annotation, section.model_fields[key]) for key in keys}
    return create_model(name, __base__=base, __doc__=doc, __module__=section.__module__, **fields)


class LatencySettings(Section):
    """CPU latency of one clip through each deployable model of a study, at each thread count."""

    seconds: float = Field(8.0, gt=0, description="clip length (s)")
    repeats: int = Field(10, ge=1, description="timed runs after warm-up; the median is reported")
    threads: list[Annotated[int, Field(ge=1)]] = Field([1, 2], min_length=1, description="CPU thread counts measured")
