import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from transformers import AutoModel

from serbench.settings.ssl import DistillLossSettings
from serbench.ssl.upstream import build_config, masked_mean
from serbench.studies.selfdistill.loss import kl_term, self_distillation_loss, similarity_term
from serbench.studies.selfdistill.model import ExitHead, ExitModel, SelfDistillModel, truncate_encoder
from serbench.studies.selfdistill.training import margin_fusion, score_exits


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    return AutoModel.from_config(build_config("wav2vec2-base", "tiny", num_hidden_layers=4)).eval()


def test_truncated_encoder_stops_at_the_exit_layer(encoder):
    wave = torch.randn(1, 8000)
    with torch.no_grad():
        full = encoder(wave, output_hidden_states=True).hidden_states
        for depth in (1, 3):
            torch.testing.assert_close(truncate_encoder(encoder, depth)(wave).last_hidden_state, full[depth])
    assert len(encoder.encoder.layers) == 4  # the original keeps every layer
    with pytest.raises(ValueError, match="outside 1..4"):
        truncate_encoder(encoder, 5)


def test_exit_model_runs_only_its_layers(encoder):
    calls = []
    hooks = [
        layer.register_forward_hook(lambda *_, i=i: calls.append(i)) for i, layer in enumerate(encoder.encoder.layers)
    ]
    head = ExitHead("conv", encoder.config.hidden_size, 5)
    with torch.no_grad():
        logits = ExitModel(encoder, 1, head).eval()(torch.randn(2, 8000))
    for hook in hooks:
        hook.remove()
    assert calls == [0] and logits.shape == (2, 5)


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
    assert similarity_term(student, 2 * student, ("cosine",)).item() == pytest.approx(-1.0)
    assert similarity_term(student, 2 * student, ("l1", "cosine")).item() == pytest.approx(1.5 - 1.0)


def test_loss_eq1_combines_the_parts():
    torch.manual_seed(0)
    make = lambda: (torch.randn(4, 6), torch.randn(4, 3), torch.randn(4, 2))  # noqa: E731
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
    make = lambda: tuple(torch.randn(4, d, requires_grad=True) for d in (6, 3, 2))  # noqa: E731
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
    hidden, states, lengths = encoder.config.hidden_size, torch.randn(3, 7, 32), torch.tensor([7, 5, 2])
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
