"""Int8 export of a tiny random encoder: weight norm folded, every Conv and MatMul weight int8 when static."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from serbench.ssl.onnx_export import (
    CNN_SCOPES,
    WaveformEncoder,
    export_onnx,
    fold_weight_norm,
    mean_cosine,
    onnx_session,
    quantize_int8,
)
from serbench.ssl.upstream import load_upstream, save_random_upstream


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    path = save_random_upstream("distilhubert", tmp_path_factory.mktemp("enc") / "tiny", size="tiny")
    return load_upstream(str(path)).eval()


@pytest.fixture(scope="module")
def waveforms():
    rng = np.random.default_rng(0)
    return [rng.normal(scale=0.1, size=n).astype(np.float32) for n in (16000, 12000, 20000, 8000)]


def _weight_sources(model: onnx.ModelProto, op_type: str) -> list[str]:
    """For each ``op_type`` node, the op type that produces its weight input (input 1), or 'initializer'."""
    producers = {out: node.op_type for node in model.graph.node for out in node.output}
    return [producers.get(node.input[1], "initializer") for node in model.graph.node if node.op_type == op_type]


def test_folding_weight_norm_keeps_the_function_and_leaves_a_plain_kernel(encoder):
    folded = fold_weight_norm(encoder.model)
    conv = folded.encoder.pos_conv_embed.conv
    assert not torch.nn.utils.parametrize.is_parametrized(conv) and isinstance(conv.weight, torch.nn.Parameter)
    original = encoder.model.encoder.pos_conv_embed.conv
    assert torch.nn.utils.parametrize.is_parametrized(original)  # the original is untouched
    waveform = torch.randn(1, 16000)
    with torch.no_grad():
        torch.testing.assert_close(folded(waveform).last_hidden_state, encoder.model(waveform).last_hidden_state)


def test_static_int8_quantizes_every_conv_and_weight_matmul_and_dynamic_only_matmul(encoder, waveforms, tmp_path):
    export_onnx(WaveformEncoder(encoder, last_hidden=True), tmp_path / "float.onnx", seconds=1.0)
    float_model = onnx.load(str(tmp_path / "float.onnx"))
    assert not {"ReduceL2", "LpNormalization"} & {n.op_type for n in float_model.graph.node}  # no run-time norm
    quantize_int8(tmp_path / "float.onnx", tmp_path / "static.onnx", "static", waveforms)
    quantize_int8(tmp_path / "float.onnx", tmp_path / "dynamic.onnx", "dynamic")
    static = onnx.load(str(tmp_path / "static.onnx"))
    convs = _weight_sources(static, "Conv")
    assert len(convs) == 8 and set(convs) == {"DequantizeLinear"}  # 7 feature-encoder convolutions + positional
    weight_matmuls = [s for s in _weight_sources(static, "MatMul") if s != "Transpose"]
    assert weight_matmuls and set(weight_matmuls) <= {"DequantizeLinear", "Mul", "Softmax", "Div"}
    dynamic = onnx.load(str(tmp_path / "dynamic.onnx"))
    assert set(_weight_sources(dynamic, "Conv")) == {"initializer"}  # dynamic: the convolutions stay float
    for model in (static, dynamic):  # per-channel weight scales in both schemes
        assert [i for i in model.graph.initializer if i.name.endswith("_scale") and len(i.dims) == 1 and i.dims[0] > 1]
    sizes = {name: (tmp_path / f"{name}.onnx").stat().st_size for name in ("float", "static", "dynamic")}
    assert sizes["static"] < sizes["dynamic"] < sizes["float"]


def test_dynamic_ffn_float_keeps_only_the_feed_forward_down_projections_float(encoder, tmp_path):
    export_onnx(WaveformEncoder(encoder, last_hidden=True), tmp_path / "float.onnx", seconds=1.0)
    for kind in ("dynamic", "dynamic_ffn_float"):
        quantize_int8(tmp_path / "float.onnx", tmp_path / f"{kind}.onnx", kind)
    integer = {}
    for kind in ("dynamic", "dynamic_ffn_float"):
        nodes = onnx.load(str(tmp_path / f"{kind}.onnx")).graph.node
        integer[kind] = {n.name for n in nodes if n.op_type == "MatMulInteger"}
        float_down = [n for n in nodes if n.op_type == "MatMul" and "/feed_forward/output_dense/" in n.name]
        assert len(float_down) == (2 if kind == "dynamic_ffn_float" else 0)  # the tiny encoder's two layers
    down = integer["dynamic"] - integer["dynamic_ffn_float"]
    assert len(down) == 2 and all("output_dense" in name for name in down)
    sizes = {kind: (tmp_path / f"{kind}.onnx").stat().st_size for kind in ("float", "dynamic", "dynamic_ffn_float")}
    assert sizes["dynamic"] < sizes["dynamic_ffn_float"] < sizes["float"]


def test_static_int8_encoder_stays_close_to_float(encoder, waveforms, tmp_path):
    export_onnx(WaveformEncoder(encoder, last_hidden=True), tmp_path / "float.onnx", seconds=1.0)
    quantize_int8(tmp_path / "float.onnx", tmp_path / "static.onnx", "static", waveforms)
    sessions = {name: onnx_session(tmp_path / f"{name}.onnx", 1) for name in ("float", "static")}
    feed = {"waveform": waveforms[0][None, :]}
    (pooled, last), (pooled_q, last_q) = (sessions[n].run(None, feed) for n in ("float", "static"))
    assert pooled.shape == pooled_q.shape == (1, 3, 32) and last.shape == last_q.shape == (1, 49, 32)
    assert mean_cosine(last[0], last_q[0]) > 0.9
    assert mean_cosine(last[0], last[0]) == pytest.approx(1.0)


def test_static_int8_without_calibration_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="calibration waveforms"):
        quantize_int8(tmp_path / "float.onnx", tmp_path / "static.onnx", "static")
    with pytest.raises(ValueError, match="int8 kind 'float16'"):
        quantize_int8(tmp_path / "float.onnx", tmp_path / "x.onnx", "float16")


def test_mixed_int8_keeps_int8_weights_but_float_activations_in_the_feature_encoder(encoder, waveforms, tmp_path):
    export_onnx(WaveformEncoder(encoder, last_hidden=True), tmp_path / "float.onnx", seconds=1.0)
    for kind in ("static", "mixed"):
        quantize_int8(tmp_path / "float.onnx", tmp_path / f"{kind}.onnx", kind, waveforms)
    mixed = onnx.load(str(tmp_path / "mixed.onnx"))
    assert set(_weight_sources(mixed, "Conv")) == {"DequantizeLinear"}  # weights still stored in int8
    quantized = [n.input[0] for n in mixed.graph.node if n.op_type == "QuantizeLinear"]
    in_cnn = [name for name in quantized if any(scope in name for scope in CNN_SCOPES)]
    assert quantized and not in_cnn  # no activation grid in the CNN
    assert any("/encoder/layers." in name for name in quantized)  # the transformer's activations stay int8
    sizes = {kind: (tmp_path / f"{kind}.onnx").stat().st_size for kind in ("static", "mixed")}
    assert sizes["mixed"] <= sizes["static"]
    sessions = {name: onnx_session(tmp_path / f"{name}.onnx", 1) for name in ("float", "static", "mixed")}
    last = {name: session.run(None, {"waveform": waveforms[0][None, :]})[1][0] for name, session in sessions.items()}
    assert mean_cosine(last["float"], last["mixed"]) > mean_cosine(last["float"], last["static"])


def test_whisper_exports_its_log_mel_as_a_dft_convolution_left_in_float_by_every_scheme(tmp_path, waveforms):
    from serbench.ssl.upstream import random_upstream

    torch.manual_seed(0)
    upstream = random_upstream("whisper-tiny", "tiny").eval()
    export_onnx(WaveformEncoder(upstream, last_hidden=True), tmp_path / "float.onnx", seconds=1.0)
    float_model = onnx.load(str(tmp_path / "float.onnx"))
    assert "STFT" not in {n.op_type for n in float_model.graph.node}  # ONNX Runtime's STFT op is slow
    session = onnx_session(tmp_path / "float.onnx", 1)
    for waveform in waveforms[:2]:  # any length, as PyTorch computes it
        with torch.no_grad():
            expected = WaveformEncoder(upstream, last_hidden=True)(torch.from_numpy(waveform)[None])[1].numpy()
        np.testing.assert_allclose(session.run(None, {"waveform": waveform[None]})[1], expected, atol=1e-4)
    for kind in ("static", "mixed"):
        quantize_int8(tmp_path / "float.onnx", tmp_path / f"{kind}.onnx", kind, waveforms)
        quantized = [
            n.input[0] for n in onnx.load(str(tmp_path / f"{kind}.onnx")).graph.node if n.op_type == "QuantizeLinear"
        ]
        assert quantized and not [name for name in quantized if "/log_mel/" in name]
