import numpy as np
import pytest
import torch

from conftest import family
from serbench.quantization.layers import layer_of, quantization_layers
from serbench.quantization.quantizers import dequantize_array, fake_quantize, fake_quantize_model, quantize_array


def test_two_bit_codes_by_hand():
    # Q = 1, s = max|w| = 1.2: w/s = [-1, 0.1667, 0.5833, 1] -> q = [-1, 0, 1, 1]
    codes, scale = quantize_array(np.array([-1.2, 0.2, 0.7, 1.2]), 2)
    assert scale == pytest.approx(1.2)
    assert codes.tolist() == [0, 1, 2, 2]
    assert dequantize_array(codes, scale, 2).tolist() == pytest.approx([-1.2, 0.0, 1.2, 1.2])


def test_one_bit_is_sign_times_mean_abs():
    w = np.array([-3.0, 1.0, 0.0, 2.0])
    restored = fake_quantize(w, 1)
    assert restored.tolist() == pytest.approx([-1.5, 1.5, 1.5, 1.5])  # mean|w| = 1.5, sign(0) = +


@pytest.mark.parametrize("bits", range(2, 9))
def test_levels_and_error_bound(bits):
    w = np.random.default_rng(bits).normal(size=5000).astype(np.float32)
    codes, scale = quantize_array(w, bits)
    assert codes.max() <= 2**bits - 2  # 2^b - 1 symmetric levels
    assert len(np.unique(codes)) <= 2**bits - 1
    assert np.abs(dequantize_array(codes, scale, bits) - w).max() <= scale / 2 + 1e-6


def test_all_zero_tensor_survives():
    assert fake_quantize(np.zeros(4), 4).tolist() == [0, 0, 0, 0]


def test_out_of_range_bits_rejected():
    with pytest.raises(ValueError, match="outside 1..8"):
        quantize_array(np.ones(3), 9)


def test_layer_grouping_of_linear_and_recurrent_parameters():
    assert layer_of("net.0.weight") == layer_of("net.0.bias") == "net.0"
    assert layer_of("gru.weight_ih_l0") == layer_of("gru.bias_ih_l0") == "gru.ih_l0"
    assert layer_of("gru.weight_hh_l0") == "gru.hh_l0"
    gru = torch.nn.GRU(4, 3)
    assert list(quantization_layers(gru)) == ["ih_l0", "hh_l0"]


def test_fake_quantize_model_changes_only_named_layers():
    model = family("mlp", 6, 3, hidden=(5, 4))
    quantized = fake_quantize_model(model, {"net.0": 1})
    original, changed = dict(model.named_parameters()), dict(quantized.named_parameters())
    assert len(torch.unique(changed["net.0.weight"].abs())) == 1  # one-bit: ±scale
    assert torch.equal(original["net.3.weight"], changed["net.3.weight"])
    assert not torch.equal(original["net.0.weight"], changed["net.0.weight"])
    with pytest.raises(KeyError, match="no layers"):
        fake_quantize_model(model, {"nope": 2})
