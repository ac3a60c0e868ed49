"""Plots of the quantization study, one pair per dataset and protocol: accuracy against stored size (Pareto) and
accuracy against b̄ (the layout of Shinde et al. 2024, Figure 2).

Every mark has a legend entry; the float32 model, the SVM baseline and chance (the test set's majority-class
share) are reference lines where no size or b̄ places them; the legend sits in its own column so that it hides
no point.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from serbench.atomic import write_figure  # noqa: E402
from serbench.errors import InputError  # noqa: E402
from serbench.settings.quantization import FINE_TUNED, PAPER_FEATURES  # noqa: E402

MARKERS = {"fixed": "o", "importance": "*", "sensitivity": "D"}
MARKER_SIZES = {"o": 6, "*": 14, "D": 6}
ALLOCATOR_LABELS = {"fixed": "fixed width", "importance": "adaptive (importance I(l))", "sensitivity": "sensitivity"}
BASELINE = "svm"  # a float32 reference, drawn in every panel rather than as a family of its own
CHANCE_GAP = 15.0  # points of WA


def pareto_front(size: pd.Series, accuracy: pd.Series) -> list[int]:
    """Index labels of the points no other point beats on both smaller size and higher accuracy, by size.

    >>> pareto_front(pd.Series([1, 2, 3]), pd.Series([0.5, 0.4, 0.9]))
    [0, 2]
    """
    front, best = [], float("-inf")
    for index in sorted(size.index, key=lambda i: (size[i], -accuracy[i])):
        if accuracy[index] > best:
            front.append(index)
            best = accuracy[index]
    return front


def _marker(row: pd.Series, colour: str) -> dict:
    """Marker by allocator, filled with ``colour`` unless fine-tuned (QAT, and its control fp32+ft)."""
    marker = MARKERS[row["allocator"] or "fixed"]
    hollow = row["qat"] or row["variant"] == FINE_TUNED
    return dict(
        marker=marker,
        markersize=MARKER_SIZES[marker],
        color=colour,
        markerfacecolor="none" if hollow else colour,
        markeredgecolor=colour if marker == "o" else "black",
        linestyle="none",
    )


def _marks_legend(ax, first: list[Line2D]) -> None:
    """The legend of every mark, in ``ax`` (a column of its own, axis hidden)."""
    grey = dict(color="grey", linestyle="none")
    handles = first + [
        Line2D([], [], marker=m, markersize=MARKER_SIZES[m], markeredgecolor="black", label=ALLOCATOR_LABELS[a], **grey)
        for a, m in MARKERS.items()
    ]
    handles.append(Line2D([], [], marker="o", markerfacecolor="none", label="hollow: + QAT / fp32+ft", **grey))
    ax.legend(handles=handles, loc="center left", fontsize=8, frameon=False)
    ax.axis("off")


def _reference_lines(axes: list, rows: pd.DataFrame) -> list[Line2D]:
    """Chance and the SVM baseline as horizontal lines in every panel of ``axes`` (drawn after the points); their
    legend handles. Chance more than :data:`CHANCE_GAP` points below the lowest point of all panels is named in
    the legend, not drawn, so that it does not squeeze the differences the plot is about."""
    chance = 100 * rows["chance_wa"].iloc[0]
    style = dict(color="grey", linestyle=":")
    svm = rows[(rows["model"] == BASELINE) & (rows["variant"] == "fp32")]
    below = chance < min(ax.dataLim.y0 for ax in axes) - CHANCE_GAP
    handles = [
        Line2D([], [], **style, label=f"chance {chance:.1f} % (below the axis)" if below else "chance (majority class)")
    ]
    if not svm.empty:
        handles.append(Line2D([], [], color="black", linestyle="-.", linewidth=1, label="SVM, fp32"))
    for ax in axes:
        if not below:
            ax.axhline(chance, **style)
        if not svm.empty:
            ax.axhline(100 * svm["accuracy"].iloc[0], color="black", linestyle="-.", linewidth=1)
    return handles


def _log_sizes(ax) -> None:
    """A log x axis labelled at 1, 2 and 5 times each power of ten in plain numbers (``20``, ``50``, ``100``), the
    other ticks unlabelled: matplotlib's own labels of a 1-2 decade axis put ``2×10¹``, ``3×10¹``, … on every
    minor tick, printed over each other."""
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _rows(table: pd.DataFrame, dataset: str, protocol: str) -> pd.DataFrame:
    rows = table[(table["dataset"] == dataset) & (table["protocol"] == protocol)]
    if rows.empty:
        raise InputError(f"no results for dataset {dataset!r} and protocol {protocol!r} in the table")
    return rows


def _panels(count: int) -> tuple[Figure, list, object]:
    """A grid of ``count`` panels sharing their y axis, two to a row, and one more cell for the legend (so that a
    figure of three panels stays about as tall as it is wide, as a report shows it)."""
    columns = 1 if count == 0 else 2
    rows = -(-(count + 1) // columns)
    fig, grid = plt.subplots(rows, columns, figsize=(5.2 * columns, 4.2 * rows), squeeze=False)
    cells = list(grid.flat)
    for ax in cells[1:count]:
        ax.sharey(cells[0])
    for ax in cells[count + 1 :]:
        ax.axis("off")
    return fig, cells[:count], cells[count]


def pareto_figure(table: pd.DataFrame, dataset: str, protocol: str) -> Figure:
    """Accuracy (WA, pooled) against stored size in KB (log scale), one panel per model family.

    Colour marks the quantizer (black: float32), the marker the allocator, hollow markers fine-tuning; the front
    of points no other beats on both size and accuracy is a solid grey step; the paper's Table 2 points (random
    split only) are grey squares; the SVM baseline and chance are horizontal lines. No error bars: variants share
    seeds and test utterances, so their differences are read from the table's paired Δ intervals.

    Raises:
        ValueError: the table has no rows for ``dataset`` and ``protocol``.
    """
    rows = _rows(table, dataset, protocol)
    models = sorted(m for m in rows["model"].unique() if m != BASELINE)
    quantizers = sorted(q for q in rows["quantizer"].unique() if q != "none")
    colours = {"none": "black"} | {q: f"C{i}" for i, q in enumerate(quantizers)}
    fig, axes, legend_ax = _panels(len(models))
    handles: list[Line2D] = []
    for ax, model in zip(axes, models):
        group = rows[rows["model"] == model]
        for _, row in group.iterrows():
            ax.plot(row["size_kb"], 100 * row["accuracy"], **_marker(row, colours[row["quantizer"]]))
        front = group.loc[pareto_front(group["size_kb"], group["accuracy"])]
        (line,) = ax.step(front["size_kb"], 100 * front["accuracy"], where="post", color="0.35", linewidth=1.4)
        line.set_label("Pareto front")
        paper = group.dropna(subset=["paper_accuracy"]).drop_duplicates("variant")
        squares = ax.scatter(
            paper["paper_size_kb"], 100 * paper["paper_accuracy"], marker="s", facecolor="none", edgecolor="grey"
        )
        handles = [line]
        if not paper.empty:
            squares.set_label("paper (Table 2)")
            handles.append(squares)
        _log_sizes(ax)
        ax.set_xlabel("stored size (KB: codes, scales, offsets)")
        ax.set_title(model)
        ax.grid(alpha=0.3)
    handles += _reference_lines(axes, rows)
    for ax in axes[::2]:
        ax.set_ylabel("test accuracy, WA (%)")
    colour_handles = [
        Line2D([], [], color=c, marker="o", linestyle="none", label="fp32" if q == "none" else f"{q} quantizer")
        for q, c in colours.items()
    ]
    _marks_legend(legend_ax, colour_handles + handles)
    fig.suptitle(f"{dataset}, {protocol.replace('_', ' ')}: accuracy against stored size")
    return fig


def bits_figure(table: pd.DataFrame, dataset: str, protocol: str) -> Figure:
    """Accuracy against average bit-width b̄ (eq. 5), one panel per quantizer (Shinde et al. 2024, Figure 2).

    Per model family: the fixed widths 1-8 joined by a line, with a band of the t interval over seeds (training
    noise); fp32 a dashed line of the same colour; the adaptive search a star and the sensitivity allocator a
    diamond at their b̄, hollow after quantization-aware fine-tuning. The SVM baseline and chance are lines.

    Raises:
        ValueError: no rows for ``dataset`` and ``protocol``.
    """
    rows = _rows(table, dataset, protocol)
    quantizers = sorted(q for q in rows["quantizer"].unique() if q != "none")
    models = sorted(m for m in rows["model"].unique() if m != BASELINE)
    fig, axes, legend_ax = _panels(len(quantizers))
    handles: list[Line2D] = []
    for ax, quantizer in zip(axes, quantizers):
        handles = []
        for i, model in enumerate(models):
            colour, group = f"C{i}", rows[(rows["model"] == model)]
            fp32 = group[group["variant"] == "fp32"]
            ax.axhline(100 * fp32["accuracy"].iloc[0], color=colour, linestyle="--", linewidth=1)
            fixed = group[(group["quantizer"] == quantizer) & (group["allocator"] == "fixed") & ~group["qat"]]
            fixed = fixed.sort_values("avg_bits")
            n_params = int(fp32["n_params"].iloc[0])
            (line,) = ax.plot(
                fixed["avg_bits"], 100 * fixed["accuracy"], marker="o", color=colour, label=f"{model} ({n_params:,})"
            )
            low, high = (100 * fixed[f"accuracy_ci95_seeds_{side}"] for side in ("low", "high"))
            ax.fill_between(fixed["avg_bits"], low, high, color=colour, alpha=0.15, linewidth=0)
            handles.append(line)
            others = group[(group["quantizer"] == quantizer) & ((group["allocator"] != "fixed") | group["qat"])]
            for _, row in others.iterrows():
                ax.plot(row["avg_bits"], 100 * row["accuracy"], **_marker(row, colour))
        handles += [
            Line2D([], [], color=f"C{i}", linestyle="--", linewidth=1, label=f"{model} fp32")
            for i, model in enumerate(models)
        ]
        ax.set_xticks(range(1, 9))
        ax.set_xlabel("average bit-width b̄ (eq. 5)")
        ax.set_title(f"{quantizer} quantizer")
        ax.grid(alpha=0.3)
    handles += _reference_lines(axes, rows)
    for ax in axes[::2]:
        ax.set_ylabel("test accuracy, WA (%)")
    _marks_legend(legend_ax, handles)
    fig.suptitle(f"{dataset}, {protocol.replace('_', ' ')}: accuracy against b̄ (band: 95 % t interval over seeds)")
    return fig


def write_plots(table_path: str, dataset: str, protocol: str, pareto_out: str | Path, bits_out: str | Path) -> None:
    """Both plots of one dataset and protocol from the summary CSV, on the paper's feature set.

    Raises:
        ValueError: the table has no rows for ``dataset`` and ``protocol``.
    """
    table = pd.read_csv(table_path, dtype={"dataset": str}).fillna({"allocator": ""})
    table = table[table["features"] == PAPER_FEATURES]
    write_figure(pareto_out, pareto_figure(table, dataset, protocol))
    write_figure(bits_out, bits_figure(table, dataset, protocol))
