import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from serbench.settings.selfdistill import DistillLossSettings, SelfDistillSettings, SelfDistillUpstream
from serbench.settings.ssl import WaveformSettings
from serbench.ssl.encoders import masked_mean
from serbench.ssl.upstream import random_upstream, save_random_upstream
from serbench.studies.selfdistill.loss import kl_term, self_distillation_loss, similarity_term
from serbench.studies.selfdistill.model import ExitHead, ExitOutput, SelfDistillModel
from serbench.studies.selfdistill.steps import open_upstream
from serbench.studies.selfdistill.training import Feed, margin_fusion, score_exits, tile


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    return random_upstream("wav2vec2-base", "tiny").eval()


def test_masked_mean_ignores_padding():
    states = torch.tensor([[[1.0], [3.0], [100.0]]])
    assert masked_mean(states, torch.tensor([2])).item() == 2.0


def test_model_outputs_teacher_and_every_student(encoder):
    model = SelfDistillModel(encoder, n_classes=3, exit_layers=(1, 3), block="gru", head_hidden=8)
    outputs = model(torch.randn(2, 8000), torch.tensor([8000, 4000]))
    assert set(outputs) == {"teacher", 1, 3}
    embedding, linear, logits = outputs[3]
    assert embedding.shape == (2, 32) and linear.shape == (2, 8) and logits.shape == (2, 3)


def test_kl_standard_form_is_kl_teacher_to_student():
    student, teacher = torch.tensor([[0.0, math.log(3.0)]]), torch.tensor([[math.log(3.0), 0.0]])
    # teacher p = (3/4, 1/4), student q = (1/4, 3/4): KL(p‖q) = 3/4 ln 3 + 1/4 ln(1/3) = 1/2 ln 3
    assert kl_term(student, teacher, 1.0, "standard").item() == pytest.approx(0.5 * math.log(3.0), rel=1e-6)
    # the authors' form feeds q itself: Σ p (ln p - q)
    expected = 0.75 * (math.log(0.75) - 0.25) + 0.25 * (math.log(0.25) - 0.75)
    assert kl_term(student, teacher, 1.0, "authors").item() == pytest.approx(expected, rel=1e-6)


def test_similarity_terms_by_hand():
    student, teacher = torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, 0.0]])
    assert similarity_term(student, teacher, ("l1",)).item() == pytest.approx(1.5)
    assert similarity_term(student, teacher, ("l2",)).item() == pytest.approx(2.5)
    # the authors' cosine loss is -log sigmoid(cos); -cos is the named alternative
    authors = -math.log(1 / (1 + math.exp(-1.0)))
    assert similarity_term(student, 2 * student, ("cosine",)).item() == pytest.approx(authors, rel=1e-6)
    assert similarity_term(student, 2 * student, ("cosine",), cosine_form="negative").item() == pytest.approx(-1.0)
    assert similarity_term(student, 2 * student, ("l1", "cosine")).item() == pytest.approx(1.5 + authors, rel=1e-6)
    orthogonal = torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 0.0]])
    assert similarity_term(*orthogonal, ("cosine",)).item() == pytest.approx(math.log(2.0), rel=1e-6)
    with pytest.raises(ValueError, match="unknown cosine_form"):
        similarity_term(student, teacher, ("cosine",), cosine_form="squared")


def test_loss_eq1_combines_the_parts():
    torch.manual_seed(0)
    make = lambda: ExitOutput(torch.randn(4, 6), torch.randn(4, 3), torch.randn(4, 2))  # noqa: E731
    outputs, targets = {"teacher": make(), 3: make(), 8: make()}, torch.tensor([0, 1, 1, 0])
    cfg = DistillLossSettings(alpha=0.5, beta=2.0, gamma=0.3, similarity_on="linear")
    loss, parts = self_distillation_loss(outputs, targets, cfg, ("l1",))
    ce = (
        F.cross_entropy(outputs["teacher"][2], targets)
        + 0.3 * (F.cross_entropy(outputs[3][2], targets) + F.cross_entropy(outputs[8][2], targets)) / 2
    )
    kl = (
        kl_term(outputs[3][2], outputs["teacher"][2], 1.0, "standard")
        + kl_term(outputs[8][2], outputs["teacher"][2], 1.0, "standard")
    ) / 2
    sim = (F.l1_loss(outputs[3][1], outputs["teacher"][1]) + F.l1_loss(outputs[8][1], outputs["teacher"][1])) / 2
    assert loss.item() == pytest.approx((ce + 0.5 * kl + 2.0 * sim).item(), rel=1e-6)
    assert parts["ce"] == pytest.approx(ce.item(), rel=1e-6)
    teacher_only, _ = self_distillation_loss({"teacher": outputs["teacher"]}, targets, cfg, ("l1",))
    assert teacher_only.item() == pytest.approx(F.cross_entropy(outputs["teacher"][2], targets).item(), rel=1e-6)


@pytest.mark.parametrize("detach", [False, True])
def test_teacher_gets_gradients_from_kl_and_similarity_unless_detached(detach):
    torch.manual_seed(0)
    make = lambda: ExitOutput(*(torch.randn(4, d, requires_grad=True) for d in (6, 3, 2)))  # noqa: E731
    teacher, student = make(), make()
    cfg = DistillLossSettings(gamma=0.0, detach_teacher=detach)
    loss, _ = self_distillation_loss({"teacher": teacher, 3: student}, torch.tensor([0, 1, 1, 0]), cfg, ("l2",))
    loss.backward()
    ce_only = torch.autograd.grad(F.cross_entropy(teacher[2], torch.tensor([0, 1, 1, 0])), teacher[2])[0]
    from_distillation = teacher[2].grad - ce_only  # what the KL term sent back to the teacher's logits
    assert (from_distillation.abs().max().item() < 1e-7) is detach
    assert (teacher[0].grad is None) is detach  # the similarity term is the only path to H_N
    assert student[0].grad is not None and student[0].grad.abs().sum() > 0


def test_authors_blocks_add_batchnorm_relu_and_layernorm_selu(encoder):
    hidden, states, lengths = encoder.hidden_size, torch.randn(3, 7, 32), torch.tensor([7, 5, 2])
    conv = ExitHead("conv", hidden, 4, 8, style="authors")
    assert conv.block[0].bias is None and isinstance(conv.block[1], torch.nn.BatchNorm2d)
    assert (conv.eval()(states, lengths)[0] >= 0).all()  # ReLU before the pooling
    plain = ExitHead("conv", hidden, 4, 8, style="plain")
    assert plain.block.bias is not None and (plain.eval()(states, lengths)[0] < 0).any()
    gru = ExitHead("gru", hidden, 4, 8, style="authors").eval()
    assert isinstance(gru.post[0], torch.nn.LayerNorm) and isinstance(gru.post[1], torch.nn.SELU)
    assert (gru(states, lengths)[0] >= -1.7581).all()  # SELU's lower bound, −scale·alpha
    assert isinstance(ExitHead("lstm", hidden, 4, 8, style="plain").post, torch.nn.Identity)
    with pytest.raises(ValueError, match="unknown block style 'fancy'"):
        ExitHead("gru", hidden, 4, 8, style="fancy")


@pytest.mark.parametrize("inner_relu", [False, True])
def test_head_has_an_inner_relu_only_when_asked(inner_relu):
    head = ExitHead("none", 32, 4, 8, inner_relu=inner_relu).eval()
    _, linear, logits = head(torch.randn(2, 5, 32), torch.tensor([5, 3]))
    expected = head.l2(torch.relu(linear) if inner_relu else linear)
    torch.testing.assert_close(logits, expected)
    assert not torch.allclose(head.l2(linear), head.l2(torch.relu(linear)))  # the two readings differ here


def test_margin_fusion_takes_per_utterance_the_exit_with_the_largest_top2_margin():
    shallow = np.array([[3.0, 0.0, 0.0], [1.0, 0.8, 0.0], [0.0, 0.5, 0.4]])  # margins 3.0, 0.2, 0.1
    middle = np.array([[0.0, 2.0, 0.0], [0.0, 0.0, 1.0], [0.2, 0.0, 0.0]])  # margins 2.0, 1.0, 0.2
    deep = np.array([[0.0, 0.0, 2.5], [0.0, 1.5, 0.0], [0.0, 0.0, 0.2]])  # margins 2.5, 1.5, 0.2 (tie: middle)
    fused = margin_fusion([shallow, middle, deep])
    np.testing.assert_array_equal(fused, np.stack([shallow[0], deep[1], middle[2]]))
    scores = score_exits({"teacher": deep, 3: shallow, 8: middle, 10: deep}, np.array([0, 1, 1]))  # fused: 0, 1, 0
    assert scores["fusion_margin"]["accuracy"] == pytest.approx(2 / 3)
    assert {"fusion_margin", "fusion_mean", "fusion_confident", "teacher", "3"} <= set(scores)


def test_authors_init_is_he_uniform_with_zero_bias_and_pytorch_init_is_not():
    torch.manual_seed(0)
    authors, pytorch = ExitHead("conv", 64, 4, 256), ExitHead("conv", 64, 4, 256, init="pytorch")
    for layer, fan_in in ((authors.l1, 64), (authors.l2, 256)):
        bound = math.sqrt(6.0 / fan_in)
        assert layer.weight.abs().max() <= bound and layer.weight.abs().max() > 0.9 * bound
        assert torch.count_nonzero(layer.bias) == 0
    assert authors.block[0].weight.abs().item() <= math.sqrt(6.0)  # the 1x1 convolution: fan-in 1
    assert torch.count_nonzero(pytorch.l1.bias) > 0  # PyTorch's default draws biases
    assert pytorch.l1.weight.abs().max() <= 1 / math.sqrt(64)  # and bounds weights by 1/sqrt(fan_in), not sqrt(6/...)
    with pytest.raises(ValueError, match="unknown init"):
        ExitHead("conv", 64, 4, 256, init="xavier")


def test_tiling_fills_every_clip_to_one_length_so_a_batch_has_no_padding(encoder):
    feed = Feed(tile_samples=6000)
    model = SelfDistillModel(encoder, 3, (1,), "conv", head_hidden=8).eval()
    clips = [np.random.default_rng(i).normal(size=n).astype(np.float32) for i, n in enumerate((2500, 9000))]
    np.testing.assert_array_equal(tile(clips[0], 6000)[2500:5000], clips[0])  # the clip repeats
    with torch.no_grad():
        batched = feed(model, clips)
        for row, clip in enumerate(clips):
            alone = model(torch.from_numpy(tile(clip, 6000))[None], torch.tensor([6000]))
            torch.testing.assert_close(batched["teacher"][2][row], alone["teacher"][2][0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("layerdrop", ["checkpoint", "off"])
def test_layerdrop_keeps_the_checkpoint_value_unless_switched_off(tmp_path, layerdrop):
    import json

    path = save_random_upstream("wav2vec2-base", tmp_path / "w", size="tiny", num_hidden_layers=3)
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, "layerdrop": 0.3}))
    spec = SelfDistillUpstream(pretrained=str(path), layers=3, exit_layers=(1,))
    cfg = SelfDistillSettings(upstreams=[spec], layerdrop=layerdrop)
    assert open_upstream(spec, cfg, "clip").layerdrop == (0.3 if layerdrop == "checkpoint" else 0.0)
    with pytest.raises(ValueError, match="has 3 layers, the config says layers: 4"):
        open_upstream(SelfDistillUpstream(pretrained=str(path), layers=4, exit_layers=(1,)), cfg, "clip")


def test_raw_preparation_keeps_the_waveform_as_read(tmp_path):
    import soundfile as sf

    from serbench.ssl.waveforms import prepare_corpus

    rate = 16000
    tone = 0.2 * np.sin(2 * np.pi * 200 * np.arange(rate) / rate)
    wave = np.concatenate([np.zeros(rate // 2), tone]).astype(np.float32)
    sf.write(tmp_path / "a.wav", wave, rate, subtype="FLOAT")
    manifest = pd.DataFrame({"utterance_id": ["a"], "path": [str(tmp_path / "a.wav")]})
    (_, [raw]), (_, [ismail]) = (prepare_corpus(manifest, WaveformSettings(), p) for p in ("raw", "ismail"))
    np.testing.assert_allclose(raw, wave, atol=1e-6)  # the authors' code: 16 kHz, nothing else
    assert len(ismail) < len(wave) and np.abs(ismail).max() == pytest.approx(0.95)  # trimmed, normalised
    with pytest.raises(ValueError, match="unknown waveform preparation"):
        prepare_corpus(manifest, WaveformSettings(), "cooked")


def test_selfdistill_defaults_are_the_authors():
    cfg = SelfDistillSettings()
    assert (cfg.preparation, cfg.batching, cfg.layerdrop, cfg.init) == ("authors", "tile", "checkpoint", "he_uniform")
    assert cfg.loss.cosine_form == "authors" and cfg.clip_seconds * 16000 == pytest.approx(95744)
    with pytest.raises(ValueError, match="must be inner layers"):
        SelfDistillUpstream(pretrained="x", layers=4, exit_layers=(1, 4))


def test_all_exits_model_gives_each_exit_models_logits(encoder):
    from serbench.studies.selfdistill.model import AllExitsModel, ExitModel

    torch.manual_seed(0)
    model = SelfDistillModel(encoder, 3, (1, 2), "conv", head_hidden=8).eval()
    clip = torch.randn(1, 8000)
    with torch.no_grad():
        stacked = AllExitsModel(model)(clip)
        heads = [(1, model.students["1"]), (2, model.students["2"]), (model.depth, model.teacher)]
        for row, (depth, head) in enumerate(heads):
            torch.testing.assert_close(stacked[row], ExitModel(encoder, depth, head)(clip), atol=1e-5, rtol=1e-5)
