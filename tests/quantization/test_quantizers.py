import pytest
import torch

from conftest import family
from serbench.lowbit.layers import layer_of, quantization_layers
from serbench.lowbit.quantizers import (
    CLIP_RATIOS,
    QUANTIZERS,
    dequantize,
    fake_quantize,
    fake_quantize_model,
    quantize,
    straight_through,
)


def gaussian(shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("bits", range(1, 9))
def test_uniform_uses_two_to_the_b_levels_from_min_to_max(bits):
    w = gaussian((64, 80), bits)
    codes = quantize(w, bits, "uniform")
    restored = dequantize(codes)
    assert codes.codes.shape == w.shape and len(codes.scale) == 1
    levels = len(torch.unique(codes.codes))
    assert levels == 2**bits if bits <= 5 else levels <= 2**bits  # a Gaussian of 5,120 values fills 32 levels
    assert restored.min() == pytest.approx(w.min().item()) and restored.max() == pytest.approx(w.max().item(), rel=1e-5)
    assert (restored - w).abs().max() <= codes.scale[0] / 2 + 1e-6


def test_two_bits_are_four_levels_not_the_three_of_the_symmetric_code():
    w = gaussian((256, 512))
    uniform, symmetric = quantize(w, 2, "uniform"), quantize(w, 2, "symmetric")
    assert len(torch.unique(uniform.codes)) == 4 and len(torch.unique(symmetric.codes)) == 3
    kept = (dequantize(symmetric) != 0).float().mean()
    assert kept < 0.25  # the symmetric three-level code zeroes most weights
    error = {q: ((dequantize(quantize(w, 2, q)) - w).norm() / w.norm()).item() for q in QUANTIZERS}
    assert error["uniform"] < error["symmetric"] and error["mse"] < error["uniform"]


def test_mse_clips_per_output_channel_and_never_loses_to_plain_min_max():
    w = gaussian((8, 100))
    w[3, 7] = 25.0  # an outlier in one channel
    codes = quantize(w, 3, "mse")
    assert codes.scale.shape == (8,) and codes.offset.shape == (8,)
    for row in range(8):
        plain = dequantize(quantize(w[row : row + 1], 3, "uniform"))
        ours = dequantize(codes)[row : row + 1]
        assert ((ours - w[row]) ** 2).sum() <= ((plain - w[row]) ** 2).sum() + 1e-6
    assert dequantize(codes)[3].max() < 25.0  # the outlier's channel is clipped


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_mse_chooses_each_channels_best_candidate_range(bits):
    """Each channel's range is the candidate r·[min, max] whose affine codes restore that channel best, found here
    one channel and one candidate at a time (Banner et al. 2019's MSE clipping)."""
    w = gaussian((16, 90), bits) * torch.linspace(0.1, 3.0, 16)[:, None]
    w[5, 11] = 40.0
    restored = dequantize(quantize(w, bits, "mse"))
    top = 2**bits - 1
    for row in range(16):
        channel = w[row]
        candidates = []
        for ratio in CLIP_RATIOS.tolist():
            low, high = ratio * float(channel.min()), ratio * float(channel.max())
            step = (high - low) / top
            codes = torch.clamp(torch.round((channel - low) / step), 0, top)
            candidates.append(float(((codes * step + low - channel) ** 2).sum()))
        assert float(((restored[row] - w[row]) ** 2).sum()) == pytest.approx(min(candidates), rel=1e-4, abs=1e-9)


def test_ternary_is_twn_at_two_bits_and_xnor_at_one():
    w = torch.tensor([-1.0, -0.1, 0.05, 0.9, 0.0])
    # TWN: Δ = 0.7·mean|w| = 0.287; α = mean(|w| > Δ) = (1.0 + 0.9) / 2
    assert fake_quantize(w, 2, "ternary").tolist() == pytest.approx([-0.95, 0.0, 0.0, 0.95, 0.0])
    # XNOR: sign(w)·mean|w|, zero counted as +
    assert fake_quantize(w, 1, "ternary").tolist() == pytest.approx([-0.41, -0.41, 0.41, 0.41, 0.41])
    assert torch.equal(fake_quantize(w, 4, "ternary"), fake_quantize(w, 4, "uniform"))


def test_constant_tensor_and_bad_arguments():
    assert fake_quantize(torch.zeros(4), 3, "uniform").tolist() == [0, 0, 0, 0]
    assert fake_quantize(torch.full((4,), 0.5), 2, "mse").tolist() == [0.5] * 4
    with pytest.raises(ValueError, match="outside 1..8"):
        quantize(torch.ones(3), 9, "uniform")
    with pytest.raises(KeyError, match="unknown quantizer"):
        quantize(torch.ones(3), 2, "lloyd")


def test_straight_through_passes_the_gradient_unchanged():
    w = gaussian((5, 6)).requires_grad_()
    out = straight_through(w, 2, "uniform")
    assert torch.equal(out.detach(), fake_quantize(w, 2, "uniform"))
    (out * torch.arange(30.0).reshape(5, 6)).sum().backward()
    assert torch.equal(w.grad, torch.arange(30.0).reshape(5, 6))


def test_layer_grouping_of_linear_and_recurrent_parameters():
    assert layer_of("net.0.weight") == layer_of("net.0.bias") == "net.0"
    assert layer_of("gru.weight_ih_l0") == layer_of("gru.bias_ih_l0") == "gru.ih_l0"
    assert layer_of("gru.weight_hh_l0") == "gru.hh_l0"
    gru = torch.nn.GRU(4, 3)
    assert list(quantization_layers(gru)) == ["ih_l0", "hh_l0"]


def test_fake_quantize_model_changes_only_named_layers():
    model = family("mlp", 6, 3, hidden=(5, 4))
    quantized = fake_quantize_model(model, {"net.0": 1}, "ternary")
    original, changed = dict(model.named_parameters()), dict(quantized.named_parameters())
    assert len(torch.unique(changed["net.0.weight"].abs())) == 1  # one-bit XNOR: ±α
    assert torch.equal(original["net.3.weight"], changed["net.3.weight"])
    assert not torch.equal(original["net.0.weight"], changed["net.0.weight"])
    with pytest.raises(KeyError, match="no layers"):
        fake_quantize_model(model, {"nope": 2}, "uniform")
