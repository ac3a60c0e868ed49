"""Plots of the quantization study: accuracy against model size (Pareto) and against b̄ (Figure 2)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from serbench.atomic import write_figure  # noqa: E402


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


def plot_pareto(table: pd.DataFrame, dataset: str, out: str | Path, protocol: str | None = None) -> None:
    """Accuracy (WA) against size in KB for one dataset, Pareto front drawn, adaptive starred.

    Args:
        table: summary from :func:`serbench.studies.quantization.tables.summarize`.
        dataset: which dataset (corpus or cross-corpus experiment) to draw.
        out: PNG path, written atomically.
        protocol: draw only this protocol's rows (all when ``None``).

    Raises:
        ValueError: the table has no rows for ``dataset`` (and ``protocol``).
    """
    rows = _rows(table, dataset, protocol)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for (model, protocol), group in rows.groupby(["model", "protocol"]):
        ax.errorbar(
            group["size_kb"],
            100 * group["accuracy"],
            yerr=100 * group["accuracy_std"],
            fmt="o",
            capsize=3,
            label=f"{model} ({protocol})",
        )
        for _, row in group.iterrows():
            ax.annotate(
                row["variant"],
                (row["size_kb"], 100 * row["accuracy"]),
                fontsize=7,
                xytext=(4, 4),
                textcoords="offset points",
            )
        adaptive = group[group["variant"] == "adaptive"]
        ax.scatter(
            adaptive["size_kb"],
            100 * adaptive["accuracy"],
            marker="*",
            s=260,
            zorder=5,
            edgecolor="black",
            label=f"{model} adaptive",
        )
    front = rows.loc[pareto_front(rows["size_kb"], rows["accuracy"])]
    ax.step(front["size_kb"], 100 * front["accuracy"], where="post", color="grey", linestyle="--", label="Pareto front")
    paper = rows.dropna(subset=["paper_accuracy"])
    if not paper.empty:
        ax.scatter(
            paper["paper_size_kb"],
            100 * paper["paper_accuracy"],
            marker="s",
            facecolor="none",
            edgecolor="grey",
            label="paper (Table 2)",
        )
    ax.set_xscale("log")
    ax.set_xlabel("model size (KB, parameters × b̄ / 8 / 1000)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{dataset}: accuracy vs size of quantized models")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
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
    """Accuracy against average bit-width b̄ per model family (Shinde et al. 2024, Figure 2).

    Fixed-bit variants and fp32 are joined by a line per family; the adaptive
    variant is a star at its b̄; error bars are the std over seeds and folds.

    Raises:
        ValueError: no rows for ``dataset`` and ``protocol``.
    """
    rows = _rows(table, dataset, protocol)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for model, group in rows.groupby("model", sort=True):
        fixed = group[group["variant"] != "adaptive"].sort_values("avg_bits")
        line = ax.errorbar(
            fixed["avg_bits"],
            100 * fixed["accuracy"],
            yerr=100 * fixed["accuracy_std"],
            marker="o",
            capsize=3,
            label=f"{model} ({int(group['n_params'].iloc[0]):,} params)",
        )
        adaptive = group[group["variant"] == "adaptive"]
        ax.errorbar(
            adaptive["avg_bits"],
            100 * adaptive["accuracy"],
            yerr=100 * adaptive["accuracy_std"],
            marker="*",
            markersize=16,
            markeredgecolor="black",
            color=line.lines[0].get_color(),
            capsize=3,
            linestyle="none",
        )
    ax.set_xscale("log", base=2)
    ax.set_xticks([1, 2, 3, 4, 5, 6, 7, 8, 32], labels=["1", "2", "3", "4", "5", "6", "7", "8", "32 (fp32)"])
    ax.set_xlabel("average bit-width b̄ (eq. 5); ★ = layer-importance adaptive")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{dataset}, {protocol} protocol: accuracy vs bit-width")
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
    table = pd.read_csv(table_path, dtype={"dataset": str})
    for dataset, out in pareto.items():
        plot_pareto(table, dataset, out, pareto_protocol)
    for (dataset, protocol), out in bits.items():
        plot_accuracy_vs_bits(table, dataset, protocol, out)
