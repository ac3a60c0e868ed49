import numpy as np
import pandas as pd
import pytest
from run_records import run, summary

from serbench.figure_check import overlapping_texts
from serbench.studies.quantization.plots import bits_figure, pareto_figure, pareto_front, write_plots


def test_pareto_front_keeps_non_dominated_points():
    size = pd.Series([10, 20, 5, 40], index=["a", "b", "c", "d"])
    accuracy = pd.Series([0.8, 0.7, 0.6, 0.9], index=["a", "b", "c", "d"])
    assert pareto_front(size, accuracy) == ["c", "a", "d"]


def test_a_size_axis_over_one_to_two_decades_labels_its_ticks_without_overprinting():
    table = plot_table()
    table = table.assign(size_kb=np.geomspace(20, 700, len(table)))  # matplotlib labels each minor tick here
    figure = pareto_figure(table, "emodb_to_ravdess", "cross_corpus_per_speaker")
    figure.tight_layout()
    assert overlapping_texts(figure) == []
    labels = [t.get_text() for t in figure.axes[0].get_xticklabels() if t.get_text()]
    assert {"50", "100", "200", "500"} <= set(labels)


def test_the_bits_plot_legend_draws_each_familys_fp32_in_its_own_colour():
    table = plot_table()
    table = pd.concat([table, table.assign(model="lstm")], ignore_index=True)
    legend = next(ax.get_legend() for ax in bits_figure(table, "emodb_to_ravdess", "cross_corpus_per_speaker").axes
                  if ax.get_legend())  # fmt: skip
    colours = {text.get_text(): line.get_color() for text, line in zip(legend.get_texts(), legend.get_lines())}
    assert colours["mlp fp32"] == "C1" and colours["lstm fp32"] == "C0"


def plot_table(dataset="emodb_to_ravdess", protocol="cross_corpus_per_speaker"):
    """A summary with three quantizers, the fine-tuned variants and the SVM baseline, under long names."""
    records = [
        run(v, seed, 30 + seed, quantizer=q)
        for v in ("fixed2", "adaptive", "sensitivity", "fixed2+qat")
        for q in ("uniform", "mse", "ternary")
        for seed in (0, 1)
    ]
    records += [run(v, seed, 32 + seed) for v in ("fp32", "fp32+ft") for seed in (0, 1)]
    records += [run("fp32", seed, 35) | {"model": "svm"} for seed in (0, 1)]
    table = summary([r | {"dataset": dataset, "protocol": protocol} for r in records])
    return table.fillna({"allocator": ""})


def overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("draw", [pareto_figure, bits_figure])
def test_plots_name_every_mark_and_no_title_or_legend_overlaps(draw):
    table = plot_table().assign(chance_wa=0.5)  # within reach of the points (60-70 %): drawn as a line
    fig = draw(table, "emodb_to_ravdess", "cross_corpus_per_speaker")
    fig.tight_layout()
    renderer = fig.canvas.get_renderer()
    panels = [ax for ax in fig.axes if ax.axison]
    legend = next(ax.get_legend() for ax in fig.axes if ax.get_legend())
    labels = {text.get_text() for text in legend.get_texts()}
    assert {"chance (majority class)", "SVM, fp32", "adaptive (importance I(l))", "sensitivity"} <= labels
    assert "hollow: + QAT / fp32+ft" in labels
    assert {"Pareto front", "fp32"} <= labels if draw is pareto_figure else "mlp fp32" in labels
    assert [ax.get_title() for ax in panels] == (["mlp"] if draw is pareto_figure else ["mse quantizer",
        "ternary quantizer", "uniform quantizer"])  # fmt: skip
    titles = [fig._suptitle] + [ax.title for ax in panels]
    boxes = [t.get_window_extent(renderer) for t in titles]
    figure_box = fig.bbox
    assert all(figure_box.x0 <= b.x0 and b.x1 <= figure_box.x1 and b.y1 <= figure_box.y1 for b in boxes)
    assert not any(overlaps(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    legend_box = legend.get_window_extent(renderer)
    assert not any(overlaps(legend_box, ax.get_window_extent(renderer)) for ax in panels)
    for ax in panels:  # chance in every panel, not only in those whose own points reach down to it
        assert [line.get_ydata()[0] for line in ax.lines if line.get_linestyle() == ":"] == [pytest.approx(50)]
    assert overlapping_texts(fig) == []


@pytest.mark.parametrize("draw", [pareto_figure, bits_figure])
def test_chance_far_below_the_points_is_named_in_the_legend_not_drawn(draw):
    fig = draw(plot_table().assign(chance_wa=0.2), "emodb_to_ravdess", "cross_corpus_per_speaker")
    legend = next(ax.get_legend() for ax in fig.axes if ax.get_legend())
    assert "chance 20.0 % (below the axis)" in {text.get_text() for text in legend.get_texts()}
    assert all(line.get_linestyle() != ":" for ax in fig.axes for line in ax.lines)
    assert fig.axes[0].get_ylim()[0] > 20 + 15


def test_plots_are_written_per_dataset_and_protocol_and_refuse_an_absent_one(tmp_path):
    table = plot_table("emodb", "random")
    table.to_csv(tmp_path / "summary.csv", index=False)
    write_plots(str(tmp_path / "summary.csv"), "emodb", "random", tmp_path / "p.png", tmp_path / "b.png")
    for name in ("p.png", "b.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="'tess' and protocol 'random'"):
        pareto_figure(table, "tess", "random")
