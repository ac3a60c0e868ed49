import re

import pytest

from serbench.errors import InputError
from serbench.settings import Settings
from serbench.settings.names import ExitVariant, Fold, Protocol, QuantizationVariant


def test_every_name_the_default_grid_uses_round_trips_and_matches_its_wildcard_pattern():
    settings = Settings()
    study = settings.quantization
    names = {
        Protocol: [*study.protocols, *(Protocol("cross_corpus", n).name for n in ("none", "corpus", "speaker"))],
        QuantizationVariant: ["fp32", "fp32+ft"]
        + [v for m in study.models for q in study.quantizers for v in study.variants(m, q)],
        ExitVariant: [*settings.selfdistill.variants, "baseline-12"],
        Fold: ["fold0", "fold12", "production"],
    }
    for kind, listed in names.items():
        for name in listed:
            assert re.fullmatch(kind.PATTERN, name) and kind.parse(name).name == name


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        (Protocol, "cross_corpus_per_fold"),
        (QuantizationVariant, "fixed9"),
        (QuantizationVariant, "fp32+qat"),
        (QuantizationVariant, "adaptive+ft"),
        (ExitVariant, "conv-l3"),
        (ExitVariant, "baseline-x"),
        (Fold, "fold-1"),
        (Fold, "seed0"),
    ],
)
def test_a_name_outside_the_format_is_refused_naming_its_kind(kind, name):
    assert not re.fullmatch(kind.PATTERN, name)
    with pytest.raises(InputError, match=f"unknown {kind.WHAT} '{re.escape(name)}'"):
        kind.parse(name)


def test_parts_read_from_the_name():
    assert (
        QuantizationVariant.parse("sensitivity+qat").allocator == "sensitivity"
        and QuantizationVariant.parse("sensitivity+qat").qat
    )
    assert QuantizationVariant.parse("fixed3").assignment == "fixed3" and QuantizationVariant.parse("fixed3").bits == 3
    assert Protocol.parse("cross_corpus_per_corpus") == Protocol("cross_corpus", "corpus")
    assert ExitVariant.parse("gru-l1+l2+cosine").similarity == ("l1", "l2", "cosine")


def test_quantization_variants_sort_fp32_its_control_fixed_widths_down_the_allocators_then_qat():
    names = ["adaptive+qat", "fixed2", "fp32+ft", "fp32", "sensitivity", "fixed8", "adaptive", "fixed2+qat"]
    ordered = sorted(names, key=lambda n: QuantizationVariant.parse(n).order)
    assert ordered == ["fp32", "fp32+ft", "fixed8", "fixed2", "adaptive", "sensitivity", "fixed2+qat", "adaptive+qat"]
