import numpy as np
import pytest
import torch

from conftest import family
from serbench.lowbit.layers import quantization_layers
from serbench.lowbit.quantizers import fake_quantize_model
from serbench.settings import Settings
from serbench.studies.quantization.models import logits, predict
from serbench.studies.quantization.packing import load_packed, pack_codes, save_packed, stored_bytes, unpack_codes


@pytest.mark.parametrize("bits", range(1, 9))
def test_pack_round_trip_and_length(bits):
    codes = np.random.default_rng(bits).integers(0, 2**bits, size=1001).astype(np.uint8)
    payload = pack_codes(codes, bits)
    assert len(payload) == -(-1001 * bits // 8)  # ceil(n * b / 8)
    assert np.array_equal(unpack_codes(payload, 1001, bits), codes)


def _model():
    torch.manual_seed(0)
    model = family("mlp", 12, 4, hidden=(32, 16))
    model.feature_mean.copy_(torch.randn(12))
    return model


@pytest.mark.parametrize("quantizer", ["uniform", "mse", "ternary", "symmetric"])
@pytest.mark.parametrize("bits", [{}, {"net.0": 1, "net.3": 3, "net.6": 8}, {"net.0": 2, "net.3": 2, "net.6": 2}])
def test_packed_file_predicts_what_the_fake_quantized_model_predicts(tmp_path, bits, quantizer):
    model = _model()
    path = tmp_path / "m.sbq"
    size = save_packed(
        path,
        model,
        "mlp",
        {"input_dim": 12, "n_classes": 4, "hidden": [32, 16], "dropout": 0.1},
        ["a", "b", "c", "d"],
        bits,
        quantizer,
    )
    assert size == path.stat().st_size
    loaded, header = load_packed(path)
    assert header["classes"] == ["a", "b", "c", "d"] and header["quantizer"] == quantizer
    reference = fake_quantize_model(model, bits, quantizer)
    for name, tensor in reference.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name]), name
    features = np.random.default_rng(1).normal(size=(200, 12)).astype(np.float32)
    assert np.array_equal(predict(loaded, features), predict(reference, features))


@pytest.mark.parametrize("name", ["lstm", "attention_gru", "cnn1d"])
def test_every_family_packs_and_loads_back(tmp_path, name):
    torch.manual_seed(0)
    model = family(name, 6, 3)
    layers = list(quantization_layers(model))
    bits = {layer: 1 + i % 8 for i, layer in enumerate(layers)}
    kwargs = {"input_dim": 6, "n_classes": 3, **getattr(Settings().quantization, name).model_dump()}
    save_packed(tmp_path / "m.sbq", model, name, kwargs, list("abc"), bits, "mse")
    random_state = torch.get_rng_state()
    loaded, _ = load_packed(tmp_path / "m.sbq")
    assert torch.equal(torch.get_rng_state(), random_state)  # built without initialising what the file replaces
    reference = fake_quantize_model(model, bits, "mse")
    for key, tensor in reference.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[key]), key
    assert all(isinstance(p, torch.nn.Parameter) and not p.is_meta for p in loaded.parameters())
    features = np.random.default_rng(2).normal(size=(40, 30, 6)).astype(np.float32)
    lengths = np.random.default_rng(3).integers(5, 31, size=40)
    assert torch.equal(logits(loaded, features, lengths), logits(reference, features, lengths))
    if name != "cnn1d":  # recurrent families: input-to-hidden and hidden-to-hidden are separate layers
        assert any(layer.endswith("ih_l0") for layer in layers) and any(layer.endswith("hh_l0") for layer in layers)


def test_packed_bytes_shrink_with_bits(tmp_path):
    model = _model()
    kwargs = {"input_dim": 12, "n_classes": 4, "hidden": [32, 16], "dropout": 0.1}
    sizes = {
        b: save_packed(
            tmp_path / f"{b}.sbq",
            model,
            "mlp",
            kwargs,
            list("abcd"),
            {layer: b for layer in ("net.0", "net.3", "net.6")},
        )
        for b in (1, 2, 8)
    }
    n_params = sum(p.numel() for p in model.parameters())
    # payload grows by n_params/8 bytes per extra bit; header, scales, offsets and buffers are the same
    assert sizes[2] - sizes[1] == pytest.approx(n_params / 8, abs=6)
    assert sizes[8] - sizes[1] == pytest.approx(7 * n_params / 8, abs=6)


def test_every_stored_scale_and_offset_is_counted(tmp_path):
    model = _model()
    kwargs = {"input_dim": 12, "n_classes": 4, "hidden": [32, 16], "dropout": 0.1}
    bits = {layer: 2 for layer in ("net.0", "net.3", "net.6")}
    tensors = dict(model.named_parameters())
    per_tensor = save_packed(tmp_path / "u.sbq", model, "mlp", kwargs, list("abcd"), bits, "uniform")
    per_channel = save_packed(tmp_path / "m.sbq", model, "mlp", kwargs, list("abcd"), bits, "mse")
    channels = sum(t.shape[0] if t.ndim > 1 else 1 for t in tensors.values())
    assert per_channel - per_tensor == pytest.approx(8 * (channels - len(tensors)), abs=40)  # header length varies
    expected = sum(stored_bytes(t.numel(), 2, t.shape[0] if t.ndim > 1 else 1) for t in tensors.values())
    assert expected == sum(-(-t.numel() * 2 // 8) for t in tensors.values()) + 8 * channels


def test_a_corrupted_payload_fails_its_checksum(tmp_path):
    path = tmp_path / "m.sbq"
    kwargs = {"input_dim": 12, "n_classes": 4, "hidden": [32, 16], "dropout": 0.1}
    save_packed(path, _model(), "mlp", kwargs, list("abcd"), {"net.0": 2})
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF  # one flipped byte in a buffer: every length still adds up
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"m\.sbq: damaged packed model \(payload does not match its checksum\)"):
        load_packed(path)


@pytest.mark.parametrize("damage", ["truncate", "magic"])
def test_damaged_file_is_reported_by_path(tmp_path, damage):
    path = tmp_path / "m.sbq"
    save_packed(
        path, _model(), "mlp", {"input_dim": 12, "n_classes": 4, "hidden": [32, 16], "dropout": 0.1}, list("abcd"), {}
    )
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"XXXX" + data[4:])
    with pytest.raises(
        ValueError, match=r"m\.sbq: damaged packed model .*rebuild it with: snakemake --cores 1 --force .*m\.sbq$"
    ):
        load_packed(path)
