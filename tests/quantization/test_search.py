import pytest

from serbench.lowbit.search import search_bit_widths


def make_score(tolerance):
    """Score 1.0 unless a layer is quantized below its tolerated width, then 1.0 - 0.1 per offending layer."""

    def score(bits):
        return 1.0 - 0.1 * sum(width < tolerance[layer] for layer, width in bits.items())

    return score


def test_lowest_width_within_margin_in_importance_order():
    calls = []
    score = make_score({"a": 3, "b": 1, "c": 8})

    def recorded(bits):
        calls.append(dict(bits))
        return score(bits)

    result = search_bit_widths({"a": 0.5, "b": 0.9, "c": 0.2}, recorded, t_margin=0.01)
    assert result.order == ["b", "a", "c"]
    assert result.bits == {"a": 3, "b": 1, "c": 8}
    assert calls[0] == {}  # the float32 baseline comes first
    assert calls[1] == {"b": 1}  # most important layer first, lowest width first
    assert calls[2] == {"b": 1, "a": 1}  # earlier choices stay in place


def test_margin_scales_with_importance_eq4():
    # dropping layer 'a' to 1 bit costs 0.1; T_margin * I(a) = 0.2 * 0.6 = 0.12 >= 0.1 -> accepted
    result = search_bit_widths({"a": 0.6}, make_score({"a": 4}), t_margin=0.2)
    assert result.bits == {"a": 1}
    assert result.trials[0]["margin"] == pytest.approx(0.12)
    # with I(a) = 0.4 the margin is 0.08 < 0.1: the search climbs to the tolerated 4 bits
    assert search_bit_widths({"a": 0.4}, make_score({"a": 4}), t_margin=0.2).bits == {"a": 4}


def test_no_acceptable_width_falls_back_to_widest_candidate():
    result = search_bit_widths({"a": 1.0}, make_score({"a": 99}), t_margin=0.0, candidates=(2, 4))
    assert result.bits == {"a": 4}
    assert [t["accepted"] for t in result.trials] == [False, False]


def test_negative_margin_rejected():
    with pytest.raises(ValueError, match="T_margin"):
        search_bit_widths({"a": 1.0}, make_score({"a": 1}), t_margin=-1)
