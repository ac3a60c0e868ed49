"""The names the studies give their protocols and variants, in file paths, wildcards and table rows.

Each is a small frozen type with ``parse`` (name -> parts, :class:`~serbench.errors.InputError` on anything
else), ``name`` (parts -> name) and ``PATTERN``, the regular expression ``common.smk`` constrains its wildcard
with; nothing else in the suite splits or builds these strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Literal

from serbench.errors import InputError

# encoder architectures `serbench init-encoder` builds with random weights (serbench.ssl.upstream.ARCHITECTURES has a
# config for each; a test keeps the two in step). Here, where the CLI reads them without importing transformers.
EncoderArchitecture = Literal["distilhubert", "hubert-base", "wav2vec2-base", "wavlm-base", "whisper-tiny"]
EMOBOX_CORPORA: tuple[str, ...] = ("emodb", "ravdess", "savee", "tess")  # serbench.emobox.covered(), kept light
PRODUCTION_FOLD = "production"  # the DistilHuBERT study's model trained on every speaker (Ismail), no test fold


def _match(kind: type, name: str, expected: str) -> re.Match:
    found = re.fullmatch(kind.PATTERN, name)
    if not found:
        raise InputError(f"unknown {kind.WHAT} {name!r}; expected {expected}")
    return found


@dataclass(frozen=True)
class Protocol:
    """A quantization-study protocol: a split (``random``, ``speaker_independent``, ``emobox``, ``cross_corpus``)
    and, for cross-corpus, the features' normalisation (``none``, ``corpus``, ``speaker``; Schuller et al. 2010).

    >>> Protocol.parse("cross_corpus_per_speaker")
    Protocol(split='cross_corpus', normalise='speaker')
    >>> Protocol("cross_corpus", "none").name, Protocol.parse("random").normalise
    ('cross_corpus', 'none')
    """

    split: str
    normalise: str = "none"
    WHAT: ClassVar[str] = "protocol"
    PATTERN: ClassVar[str] = r"random|speaker_independent|emobox|cross_corpus(?:_per_(corpus|speaker))?"

    @classmethod
    def parse(cls, name: str) -> Protocol:
        """Raises: InputError: not a protocol name."""
        found = _match(cls, name, "random, speaker_independent, emobox or cross_corpus[_per_corpus|_per_speaker]")
        split = "cross_corpus" if name.startswith("cross_corpus") else name
        return cls(split, found.group(1) or "none")

    @property
    def name(self) -> str:
        return self.split if self.normalise == "none" else f"{self.split}_per_{self.normalise}"


@dataclass(frozen=True)
class QuantizationVariant:
    """A quantization-study row: ``fp32`` (``+ft``: fine-tuned by QAT's loop, no quantizer, QAT's control) or
    an allocator's widths, ``fixed<b>``, ``adaptive`` (eq. 4) or ``sensitivity``, each optionally ``+qat``.

    >>> QuantizationVariant.parse("fixed2+qat")
    QuantizationVariant(base='fixed', bits=2, suffix='qat')
    >>> QuantizationVariant("adaptive").name, QuantizationVariant.parse("fp32+ft").allocator
    ('adaptive', '')
    """

    base: str
    bits: int | None = None
    suffix: str = ""
    WHAT: ClassVar[str] = "quantization variant"
    PATTERN: ClassVar[str] = r"(fp32)(?:\+(ft))?|(fixed)([1-8])(?:\+(qat))?|(adaptive|sensitivity)(?:\+(qat))?"

    @classmethod
    def parse(cls, name: str) -> QuantizationVariant:
        """Raises: InputError: not a variant name."""
        g = _match(cls, name, "fp32[+ft], fixed<1-8>[+qat], adaptive[+qat] or sensitivity[+qat]").groups()
        if g[0]:
            return cls("fp32", None, g[1] or "")
        if g[2]:
            return cls("fixed", int(g[3]), g[4] or "")
        return cls(g[5], None, g[6] or "")

    @property
    def name(self) -> str:
        return f"{self.base}{self.bits or ''}" + (f"+{self.suffix}" if self.suffix else "")

    @property
    def assignment(self) -> str:
        """The allocation's key without ``+qat``: ``fixed2``, ``adaptive``, ``sensitivity`` (``fp32``: none)."""
        return f"{self.base}{self.bits or ''}"

    @property
    def qat(self) -> bool:
        return self.suffix == "qat"

    @property
    def allocator(self) -> str:
        """How the widths were chosen: ``fixed``, ``importance`` (eq. 4), ``sensitivity``; ``""`` for fp32."""
        return {"fp32": "", "adaptive": "importance"}.get(self.base, self.base)

    @property
    def order(self) -> int:
        """Sort key: fp32, its fine-tuned control, fixed8 ... fixed1, adaptive, sensitivity, then the QAT rows."""
        if self.base == "fp32":
            return 1 if self.suffix else 0
        rank = 9 - self.bits if self.base == "fixed" else {"adaptive": 9, "sensitivity": 10}[self.base]
        return rank + (20 if self.qat else 0)


@dataclass(frozen=True)
class ExitVariant:
    """A self-distillation model: exits of a ``block`` (``conv``, ``lstm``, ``gru``) trained with similarity
    terms (``l1``, ``l2``, ``cosine``; Ren et al. 2023, Sec. 2), or ``baseline-<depth>``, the encoder cut after
    ``depth`` layers and fine-tuned alone.

    >>> ExitVariant.parse("lstm-l2+cosine")
    ExitVariant(block='lstm', similarity=('l2', 'cosine'), depth=None)
    >>> ExitVariant(None, (), 3).name
    'baseline-3'
    """

    block: str | None
    similarity: tuple[str, ...] = ()
    depth: int | None = None
    WHAT: ClassVar[str] = "self-distillation variant"
    EXITS: ClassVar[str] = r"(conv|lstm|gru)-((?:l1|l2|cosine)(?:\+(?:l1|l2|cosine))*)"  # the exit models alone
    PATTERN: ClassVar[str] = EXITS + r"|baseline-(\d+)"

    @classmethod
    def parse(cls, name: str) -> ExitVariant:
        """Raises: InputError: not a variant name."""
        block, similarity, depth = _match(cls, name, "BLOCK-SIM[+SIM] or baseline-DEPTH").groups()
        return cls(None, (), int(depth)) if depth else cls(block, tuple(similarity.split("+")))

    @property
    def name(self) -> str:
        return f"baseline-{self.depth}" if self.block is None else f"{self.block}-{'+'.join(self.similarity)}"


@dataclass(frozen=True)
class Fold:
    """A fold's folder name: ``fold<k>`` for the model tested on fold ``k`` of a fold table, ``production`` for
    the DistilHuBERT study's model trained on every speaker (no test fold).

    >>> Fold.parse("fold3").fold, Fold("production").name
    ('3', 'production')
    """

    fold: str
    WHAT: ClassVar[str] = "fold folder"
    PATTERN: ClassVar[str] = rf"fold(\d+)|{PRODUCTION_FOLD}"

    @classmethod
    def parse(cls, name: str) -> Fold:
        """Raises: InputError: not a fold folder name."""
        number = _match(cls, name, "fold<k> or production").group(1)
        return cls(number if number is not None else PRODUCTION_FOLD)

    @property
    def name(self) -> str:
        return self.fold if self.fold == PRODUCTION_FOLD else f"fold{self.fold}"
