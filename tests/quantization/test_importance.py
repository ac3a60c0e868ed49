import math

import numpy as np
import pytest
import torch
from torch import nn

from conftest import family
from serbench.lowbit.importance import (
    average_bits,
    layer_importance,
    normalized_variance,
    paper_size_kb,
    parameter_proportion,
    weight_entropy,
)


class TwoLayer(nn.Module):
    """Layer a: 4 weights + 2 biases (6 params); layer b: 2 weights (no bias)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(2, 2)
        self.b = nn.Linear(2, 1, bias=False)
        with torch.no_grad():
            self.a.weight.copy_(torch.tensor([[1.0, -1.0], [1.0, -1.0]]))
            self.a.bias.copy_(torch.tensor([1.0, -1.0]))  # var of a = 1
            self.b.weight.copy_(torch.tensor([[2.0, -2.0]]))  # var of b = 4


def test_parameter_proportion_eq1():
    assert parameter_proportion({"a": 6, "b": 2}) == {"a": 0.75, "b": 0.25}


def test_normalized_variance_eq2_hand_values():
    n_v = normalized_variance({"a": 1.0, "b": 4.0})
    assert n_v["b"] == pytest.approx(1.0)  # ln(e - 1 + 1) = 1
    assert n_v["a"] == pytest.approx(math.log(math.e - 1 + 0.25))  # ln(1.96828) = 0.67716
    assert n_v["a"] == pytest.approx(0.67716, abs=1e-5)


def test_importance_eq3_on_a_model():
    stats = layer_importance(TwoLayer(), alpha=0.5)
    assert stats["a"]["n_params"] == 6 and stats["b"]["n_params"] == 2
    # I(a) = 0.5 * 0.75 + 0.5 * ln(e - 0.75); I(b) = 0.5 * 0.25 + 0.5 * 1
    assert stats["a"]["importance"] == pytest.approx(0.375 + 0.5 * math.log(math.e - 0.75))
    assert stats["b"]["importance"] == pytest.approx(0.625)


def test_importance_alpha_one_is_parameter_share_only():
    stats = layer_importance(TwoLayer(), alpha=1.0)
    assert stats["a"]["importance"] == pytest.approx(0.75)
    assert stats["b"]["importance"] == pytest.approx(0.25)


def test_entropy_term_enters_with_its_weight():
    # a's values {1,-1}: 1 bit; b's {2,-2}: 1 bit -> N_E = 1 for both
    stats = layer_importance(TwoLayer(), alpha=0.0, entropy_weight=1.0)
    assert stats["a"]["n_e"] == pytest.approx(1.0) and stats["a"]["importance"] == pytest.approx(1.0)


def test_weight_entropy_of_uniform_histogram():
    assert weight_entropy(np.arange(8.0), bins=8) == pytest.approx(3.0)
    assert weight_entropy(np.ones(10), bins=4) == pytest.approx(0.0)


def test_importance_rejects_weights_summing_above_one():
    with pytest.raises(ValueError, match="alpha"):
        layer_importance(TwoLayer(), alpha=0.8, entropy_weight=0.5)


def test_average_bits_eq5():
    assert average_bits({"a": 6, "b": 2}, {"a": 2, "b": 8}) == pytest.approx(0.75 * 2 + 0.25 * 8)


def test_paper_size_matches_table2_for_169k_parameters():
    # Table 2: 676 KB at 32 bits, 169 KB at 8 bits, 21 KB at 1 bit (rounded)
    assert paper_size_kb(169_000, 32) == 676
    assert paper_size_kb(169_000, 8) == 169
    assert round(paper_size_kb(169_000, 1)) == 21


def test_mlp_has_the_parameter_count_the_architecture_implies():
    # 180*256+256 + 256*512+512 + 512*64+64 + 64*7+7 = 211207 (the paper says ~169K; see papers/README)
    model = family("mlp", 180, 7)
    assert sum(p.numel() for p in model.parameters()) == 211_207
    assert list(layer_importance(model, 0.5)) == ["net.0", "net.3", "net.6", "net.9"]
