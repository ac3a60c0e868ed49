"""Plots of the quantization study: accuracy against model size (Pareto) and against b̄ (Figure 2)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from serbench.atomic import write_figure  # noqa: E402
from serbench.settings.quantization import FINE_TUNED, PAPER_FEATURES  # noqa: E402


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


MARKERS = {"": "o", "fixed": "o", "importance": "*", "sensitivity": "D"}
MARKER_SIZES = {"o": 6, "*": 15, "D": 7}


def _style(row: pd.Series, colours: dict[str, str]) -> dict:
    """Colour by quantizer (float32 black), marker by allocator, hollow when fine-tuned (QAT, and its control)."""
    marker = MARKERS[row["allocator"]]
    colour = "black" if row["quantizer"] == "none" else colours[row["quantizer"]]
    face = "none" if row["qat"] or row["variant"] == FINE_TUNED else colour
    return dict(
        marker=marker, markersize=MARKER_SIZES[marker], color=colour, markerfacecolor=face, linestyle="none", capsize=2
    )


def _legend(ax, colours: dict[str, str]) -> None:
    handles = [Line2D([], [], color=c, marker="s", linestyle="none", label=q) for q, c in colours.items()]
    handles += [
        Line2D([], [], color="grey", marker=m, linestyle="none", label=a or "fp32") for a, m in MARKERS.items() if a
    ]
    hollow = dict(color="grey", marker="o", markerfacecolor="none", linestyle="none")
    handles.append(Line2D([], [], **hollow, label="fine-tuned: + QAT, fp32+ft"))
    ax.legend(handles=handles, fontsize=7)


def _colours(rows: pd.DataFrame) -> dict[str, str]:
    quantizers = sorted(q for q in rows["quantizer"].unique() if q != "none")
    return {q: f"C{i}" for i, q in enumerate(quantizers)}


def plot_pareto(table: pd.DataFrame, dataset: str, out: str | Path, protocol: str | None = None) -> None:
    """Accuracy (WA) against stored size in KB, one panel per model family, Pareto front drawn.

    Colour marks the quantizer, the marker the allocator (circle fixed, star the paper's importance-guided
    search, diamond the sensitivity allocator), hollow markers quantization-aware fine-tuning; the
    paper's Table 2 points are grey squares.

    Args:
        table: summary from :func:`serbench.studies.quantization.tables.summarize`.
        dataset: which dataset (corpus or cross-corpus experiment) to draw.
        out: PNG path, written atomically.
        protocol: draw only this protocol's rows (all when ``None``).

    Raises:
        ValueError: the table has no rows for ``dataset`` (and ``protocol``).
    """
    rows = _rows(table, dataset, protocol)
    models = sorted(rows["model"].unique())
    colours = _colours(rows)
    fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 4.5), squeeze=False)
    for ax, model in zip(axes[0], models):
        group = rows[rows["model"] == model]
        for _, row in group.iterrows():
            spread = 100 * row["accuracy_seed_std"]
            ax.errorbar(row["size_kb"], 100 * row["accuracy"], yerr=spread, **_style(row, colours))
        front = group.loc[pareto_front(group["size_kb"], group["accuracy"])]
        ax.step(front["size_kb"], 100 * front["accuracy"], where="post", color="grey", linestyle="--", linewidth=0.8)
        paper = group.dropna(subset=["paper_accuracy"]).drop_duplicates("variant")
        ax.scatter(
            paper["paper_size_kb"],
            100 * paper["paper_accuracy"],
            marker="s",
            facecolor="none",
            edgecolor="grey",
            label="paper (Table 2)",
        )
        ax.set_xscale("log")
        ax.set_xlabel("stored size (KB: codes, scales and offsets)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{dataset}, {model}" + (f", {protocol}" if protocol else ""))
        ax.grid(alpha=0.3)
    _legend(axes[0][0], colours)
    write_figure(out, fig)


def _rows(table: pd.DataFrame, dataset: str, protocol: str | None = None) -> pd.DataFrame:
    rows = table[(table["dataset"] == dataset) & ((table["protocol"] == protocol) if protocol else True)]
    if rows.empty:
        raise ValueError(
            f"no results for dataset {dataset!r}"
            + (f" and protocol {protocol!r}" if protocol else "")
            + " in the table"
        )
    return rows


def plot_accuracy_vs_bits(table: pd.DataFrame, dataset: str, protocol: str, out: str | Path) -> None:
    """Accuracy against average bit-width b̄, one panel per quantizer (Shinde et al. 2024, Figure 2).

    Per model family, fp32 and the fixed widths are joined by a line; the
    adaptive search is a star and the sensitivity allocator a diamond at their
    b̄, hollow after quantization-aware fine-tuning; error bars are the std over
    seeds and folds.

    Raises:
        ValueError: no rows for ``dataset`` and ``protocol``.
    """
    rows = _rows(table, dataset, protocol)
    quantizers = sorted(q for q in rows["quantizer"].unique() if q != "none")
    fp32 = rows[rows["variant"] == "fp32"]
    fig, axes = plt.subplots(1, len(quantizers), figsize=(5.5 * len(quantizers), 4.5), squeeze=False, sharey=True)
    for ax, quantizer in zip(axes[0], quantizers):
        for i, (model, group) in enumerate(rows[rows["quantizer"] == quantizer].groupby("model", sort=True)):
            colour = f"C{i}"
            line = pd.concat([fp32[fp32["model"] == model], group[group["allocator"] == "fixed"]])
            line = line[~line["qat"]].sort_values("avg_bits")
            ax.errorbar(
                line["avg_bits"],
                100 * line["accuracy"],
                yerr=100 * line["accuracy_seed_std"],
                marker="o",
                capsize=3,
                color=colour,
                label=f"{model} ({int(line['n_params'].iloc[0]):,} params)",
            )
            for _, row in group[(group["allocator"] != "fixed") | group["qat"]].iterrows():
                ax.errorbar(
                    row["avg_bits"],
                    100 * row["accuracy"],
                    yerr=100 * row["accuracy_seed_std"],
                    **{**_style(row, {quantizer: colour}), "markeredgecolor": "black"},
                )
        ax.set_xscale("log", base=2)
        ax.set_xticks([1, 2, 3, 4, 5, 6, 7, 8, 32], labels=["1", "2", "3", "4", "5", "6", "7", "8", "32 (fp32)"])
        ax.set_xlabel("average bit-width b̄ (eq. 5); ★ adaptive, ◆ sensitivity, hollow + QAT")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{dataset}, {protocol}: {quantizer} quantizer")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    write_figure(out, fig)


def write_plots(
    table_path: str, pareto: dict[str, str], bits: dict[tuple[str, str], str], pareto_protocol: str
) -> None:
    """Every plot of the study from the summary CSV.

    Args:
        table_path: the summary CSV of :func:`serbench.studies.quantization.tables.write_tables`.
        pareto: corpus -> PNG of accuracy against size (``pareto_protocol``'s rows).
        bits: ``(dataset, protocol)`` -> PNG of accuracy against b̄ (the paper's Figure 2).
    """
    table = pd.read_csv(table_path, dtype={"dataset": str}).fillna({"allocator": ""})
    table = table[table["features"] == PAPER_FEATURES]  # the paper's figures: its features
    for dataset, out in pareto.items():
        plot_pareto(table, dataset, out, pareto_protocol)
    for (dataset, protocol), out in bits.items():
        plot_accuracy_vs_bits(table, dataset, protocol, out)
