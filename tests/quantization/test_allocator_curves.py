"""Allocators traced over their knobs: what each curve point reads, its budget, and the allocators.csv rows."""

import json

import numpy as np
import pandas as pd
import pytest

from conftest import Blobs
from serbench.dataset import SplitData
from serbench.lowbit.importance import average_bits
from serbench.settings import QuantizationSettings
from serbench.studies.quantization.allocator_report import allocator_table, plot_allocators
from serbench.studies.quantization.curves import assignment_key, curve_points, scored_assignments
from serbench.studies.quantization.variants import layer_counts

BLOBS = Blobs(classes=3, dim=8, seed=3)
blobs = BLOBS.subset


@pytest.fixture(scope="module")
def trained():
    return BLOBS.trained_mlp(hidden=(32, 16), n_train=300, n_validation=60, epochs=30)


def test_every_allocator_traces_its_knob_without_reading_the_test_split(trained):
    cfg = QuantizationSettings(curves={"t_margins": (0.0, 0.5), "budgets": (1.5, 8.0), "hessian_samples": 32})
    data = SplitData(["a", "b", "c"], {"train": blobs(200, 2), "validation": blobs(40, 3), "search": blobs(40, 4)})
    found = curve_points(trained, data, cfg, seed=0)  # no "test" subset: reading it would raise KeyError
    points = found.points
    assert [(a, k, v) for a, k, v, _ in points] == [
        ("importance", "t_margin", 0.0),
        ("importance", "t_margin", 0.5),
        ("importance_ll", "t_margin", 0.0),
        ("importance_ll", "t_margin", 0.5),
        ("sensitivity", "budget", 1.5),
        ("hessian", "budget", 1.5),
        ("fit", "budget", 1.5),
        ("sensitivity", "budget", 8.0),
        ("hessian", "budget", 8.0),
        ("fit", "budget", 8.0),
    ]
    counts = layer_counts(trained)
    bits = {(a, v): average_bits(counts, b) for a, _, v, b in points}
    assert bits[("sensitivity", 1.5)] <= 1.5 + 1e-9 and bits[("hessian", 1.5)] <= 1.5 + 1e-9
    assert bits[("hessian", 8.0)] == 8  # the perturbation, and so Ω, is least at the widest width
    assert all(set(b) == set(counts) for *_, b in points)  # every layer assigned
    assert bits[("importance", 0.5)] <= bits[("importance", 0.0)]
    assert set(found.layer_scores) == {"importance", "importance_ll", "sensitivity", "hessian", "fit"}
    assert all(set(scores) == set(counts) for scores in found.layer_scores.values())
    for allocator in ("hessian", "fit"):  # every trace with a standard error smaller than itself on 200 utterances
        assert all(0 < t.standard_error < t.value for t in found.traces[allocator].values())


LAYER_SCORES = {"fp32": [], "hessian": [3.0, 2.0, 1.0], "sensitivity": [3.0, 1.0, 2.0]}


def _record(allocator, value, seed, correct, avg_bits, protocol="random"):
    n = 20
    return dict(
        layer_scores=dict(zip(["net.0", "net.3", "net.6"], LAYER_SCORES[allocator])),
        dataset="emodb", features="mfcc_chroma_mel", model="mlp", protocol=protocol, quantizer="uniform",
        allocator=allocator,
        knob="" if allocator == "fp32" else "budget", value=value, fold="0", seed=seed, avg_bits=avg_bits,
        test_utterances=[f"u{i}" for i in range(n)], test_speakers=[f"emodb/{i % 4}" for i in range(n)],
        test_correct="1" * correct + "0" * (n - correct),
    )  # fmt: skip


def test_allocators_csv_pools_runs_pairs_with_fp32_and_shows_the_seed_spread_of_b(tmp_path):
    records = [
        _record("fp32", float("nan"), 0, 16, 32.0),
        _record("fp32", float("nan"), 1, 14, 32.0),
        _record("hessian", 2.0, 0, 15, 1.8),
        _record("hessian", 2.0, 1, 12, 2.0),
        _record("sensitivity", 2.0, 0, 16, 1.5),
        _record("sensitivity", 2.0, 1, 14, 1.9),
    ]
    table = allocator_table(records).set_index("allocator")
    assert table.loc["hessian", "accuracy"] == pytest.approx(27 / 40)
    assert table.loc["hessian", "delta_vs_fp32"] == pytest.approx((27 - 30) / 40)
    assert table.loc["sensitivity", "delta_vs_fp32"] == 0 and table.loc["sensitivity", "delta_ci95_low"] == 0
    assert table.loc["hessian", "delta_ci95_low"] < table.loc["hessian", "delta_vs_fp32"] <= 0
    assert (table.loc["sensitivity", "avg_bits_seed_min"], table.loc["sensitivity", "avg_bits_seed_max"]) == (1.5, 1.9)
    assert table.loc["sensitivity", "avg_bits"] == pytest.approx(1.7) and table.loc["fp32", "knob"] == ""
    # one swapped pair of three layers: τ = (2 - 1) / 3, in both runs
    assert table.loc["sensitivity", "kendall_tau_vs_hessian"] == pytest.approx(1 / 3)
    assert table.loc["hessian", "kendall_tau_vs_hessian"] == 1 and np.isnan(table.loc["fp32", "kendall_tau_vs_hessian"])
    summary = pd.DataFrame(
        [{"dataset": "emodb", "features": "mfcc_chroma_mel", "protocol": "random", "model": "mlp",
          "quantizer": "none", "variant": "fp32",
          "avg_bits": 32.0, "accuracy": 0.75, "chance_wa": 0.3}]
    )  # fmt: skip
    plot_allocators(table.reset_index(), summary, "emodb", "random", tmp_path / "a.png")
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="tess / random / mfcc_chroma_mel"):
        plot_allocators(table.reset_index(), summary, "tess", "random", tmp_path / "b.png")


def test_the_curves_take_only_post_training_results_of_their_own_quantizer(tmp_path):
    def record(variant, quantizer, bits, hits, fold="0"):
        return {"variant": variant, "quantizer": quantizer, "bits": bits, "test_correct": hits, "fold": fold}

    two = {"fc": 2, "out": 2}
    records = [
        record("fp32", "none", {"fc": 32, "out": 32}, "111"),
        record("fixed2", "uniform", two, "100"),
        record("fixed2", "mse", two, "010"),  # another quantizer: other weights
        record("fp32+ft", "none", {"fc": 32, "out": 32}, "000"),  # QAT's control: fine-tuned weights
        record("fixed2+qat", "uniform", two, "011"),  # the same widths after QAT: other weights
        record("fixed2", "uniform", two, "001", fold="1"),
    ]
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps([r | {"seed": 0, "test_utterances": ["u1", "u2", "u3"]} for r in records]))
    runs = scored_assignments(str(path), "uniform")
    assert runs[("0", 0)]["hits"] == {(): "111", (("fc", 2), ("out", 2)): "100"}
    assert runs[("1", 0)]["hits"] == {(("fc", 2), ("out", 2)): "001"} and runs[("1", 0)]["test_utterances"][0] == "u1"
    assert assignment_key({}) == assignment_key({"fc": 32, "out": 32}) == ()  # the float model, however written
