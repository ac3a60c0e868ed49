"""Settings of the quantization study's protocols: which utterances train, validate and test (serbench.protocols)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from serbench.settings.base import Corpus, Fraction, Section


class RandomSplitSettings(Section):
    """The paper's stratified random split (80/10/10; speakers shared between subsets)."""

    validation_fraction: Fraction = Field(0.1, description="share of all utterances that validate")
    test_fraction: Fraction = Field(0.1, description="share of all utterances that test")


class SpeakerIndependentSettings(Section):
    """Speaker (or session) folds: each group of speakers tests once."""

    n_folds: dict[Corpus, Annotated[int, Field(ge=2)]] = Field(
        {"emodb": 10, "tess": 2, "ravdess": 6, "cremad": 5, "iemocap": 5, "demos": 5, "savee": 4},
        description="folds per corpus (EmoDB 10 = leave-one-speaker-out, TESS 2, RAVDESS 6 groups of 4 actors)",
    )
    validation_speakers: int = Field(1, ge=1, description="training speakers held out to validate")
    validation_fraction: Fraction = Field(
        0.1, description="with too few training speakers to hold one out (TESS), a stratified share of theirs"
    )


class EmoBoxSplitSettings(Section):
    """EmoBox's published folds (Ma et al. 2024; EmoDB, RAVDESS, SAVEE, TESS): its train/test partition per fold,
    speakers shared on EmoDB; EmoBox has no validation subset."""

    validation_fraction: Fraction = Field(
        0.1, description="share of each fold's training utterances that validates (stratified by emotion)"
    )


class CrossCorpusSettings(Section):
    """Train (and validate) on ``train``, test on all of ``test``, on the emotions they share."""

    train: list[Corpus] = Field(min_length=1)
    test: Corpus
