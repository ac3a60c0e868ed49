"""The self-distillation objective (Ren et al. 2023, eqs. 1-4).

L = L_c + α·L_k + β·L_s, with
L_c = CE(O, y) + γ · mean_a CE(O_a, y)                          (eq. 2)
L_k = mean_a KL(softmax(O) ‖ softmax(O_a))                        (eq. 3, O log(O / O_a))
L_s = mean_a L_sim(H_N, H_M_a)  or  mean_a L_sim(H_L, H_L_a)      (eq. 4)
The cosine term of L_sim is -log sigmoid(cos) by default, as in the authors' code (``loss.cosine_form``), or -cos.
By default the teacher side of L_k and L_s is not detached, as in the authors'
code: gradients of both terms reach the teacher too. ``loss.detach_teacher``
detaches it (students learn from the teacher, the teacher from the labels only).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from serbench.settings.selfdistill import DistillLossSettings

SIMILARITIES = ("l1", "l2", "cosine")


def kl_term(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float, form: str, detach: bool = False
) -> torch.Tensor:
    """KL(teacher ‖ student) per batch element, averaged (``batchmean``); ``detach`` cuts the teacher's gradient.

    ``form="authors"`` feeds the student's probabilities where ``F.kl_div`` expects
    log-probabilities, as the authors' code does; that value is not a KL divergence.
    """
    target = F.softmax((teacher_logits.detach() if detach else teacher_logits) / temperature, dim=1)
    if form == "standard":
        student = F.log_softmax(student_logits / temperature, dim=1)
    elif form == "authors":
        student = F.softmax(student_logits / temperature, dim=1)
    else:
        raise ValueError(f"unknown kl_form {form!r}; expected 'standard' or 'authors'")
    return F.kl_div(student, target, reduction="batchmean") * temperature**2


def similarity_term(
    student: torch.Tensor,
    teacher: torch.Tensor,
    kinds: tuple[str, ...],
    detach: bool = False,
    cosine_form: str = "authors",
) -> torch.Tensor:
    """Sum of the chosen similarity losses between ``(batch, d)`` features; ``detach`` cuts the teacher's gradient.

    ``cosine_form``: ``"authors"`` takes ``-log sigmoid(cos)``, ``"negative"`` takes ``-cos``, each averaged over
    the batch.

    Raises:
        ValueError: an unknown similarity or cosine form.
    """
    if cosine_form not in ("authors", "negative"):
        raise ValueError(f"unknown cosine_form {cosine_form!r}; expected 'authors' or 'negative'")
    teacher = teacher.detach() if detach else teacher
    total = student.new_zeros(())
    for kind in kinds:
        if kind == "l1":
            total = total + F.l1_loss(student, teacher)
        elif kind == "l2":
            total = total + F.mse_loss(student, teacher)
        elif kind == "cosine":
            cosine = F.cosine_similarity(student, teacher, dim=1)
            total = total - (F.logsigmoid(cosine) if cosine_form == "authors" else cosine).mean()
        else:
            raise ValueError(f"unknown similarity {kind!r}; expected any of {SIMILARITIES}")
    return total


def self_distillation_loss(
    outputs: dict, targets: torch.Tensor, cfg: DistillLossSettings, similarity: tuple[str, ...]
) -> tuple[torch.Tensor, dict]:
    """Eq. 1 from a :class:`~serbench.studies.selfdistill.model.SelfDistillModel` output.

    ``similarity`` names the summed terms of L_sim (any of ``l1``, ``l2`` (mean
    squared), ``cosine`` (negative cosine)); the variant name sets them.

    Returns:
        ``(loss, parts)`` with ``parts`` the float values of ``ce``, ``kl`` and ``sim``.
    """
    teacher = outputs["teacher"]
    students = [v for k, v in outputs.items() if k != "teacher"]
    feature = "embedding" if cfg.similarity_on == "embedding" else "linear"
    ce = F.cross_entropy(teacher.logits, targets)
    if not students:
        return ce, {"ce": ce.item(), "kl": 0.0, "sim": 0.0}
    ce = ce + cfg.gamma * torch.stack([F.cross_entropy(s.logits, targets) for s in students]).mean()
    detach = cfg.detach_teacher
    kl = torch.stack([kl_term(s.logits, teacher.logits, cfg.temperature, cfg.kl_form, detach) for s in students]).mean()
    teacher_feature = getattr(teacher, feature)
    sim = torch.stack(
        [similarity_term(getattr(s, feature), teacher_feature, similarity, detach, cfg.cosine_form) for s in students]
    ).mean()
    loss = ce + cfg.alpha * kl + cfg.beta * sim
    return loss, {"ce": ce.item(), "kl": kl.item(), "sim": sim.item()}
