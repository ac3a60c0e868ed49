"""Pareto plot of the quantization study: accuracy against model size."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from serbench.atomic import atomic_path  # noqa: E402


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


def plot_pareto(table: pd.DataFrame, corpus: str, out: str | Path) -> None:
    """Accuracy (WA) against size in KB for one corpus, Pareto front drawn, adaptive starred.

    Args:
        table: summary from :func:`serbench.report.tables.summarize`.
        corpus: which corpus to draw.
        out: PNG path, written atomically.

    Raises:
        ValueError: the table has no rows for ``corpus``.
    """
    rows = table[table["corpus"] == corpus]
    if rows.empty:
        raise ValueError(f"no results for corpus {corpus!r} in the table")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for (model, protocol), group in rows.groupby(["model", "protocol"]):
        ax.errorbar(group["size_kb"], 100 * group["accuracy"], yerr=100 * group["accuracy_std"], fmt="o",
                    capsize=3, label=f"{model} ({protocol})")
        for _, row in group.iterrows():
            ax.annotate(row["variant"], (row["size_kb"], 100 * row["accuracy"]), fontsize=7,
                        xytext=(4, 4), textcoords="offset points")
        adaptive = group[group["variant"] == "adaptive"]
        ax.scatter(adaptive["size_kb"], 100 * adaptive["accuracy"], marker="*", s=260, zorder=5,
                   edgecolor="black", label=f"{model} adaptive")
    front = rows.loc[pareto_front(rows["size_kb"], rows["accuracy"])]
    ax.step(front["size_kb"], 100 * front["accuracy"], where="post", color="grey", linestyle="--", label="Pareto front")
    paper = rows.dropna(subset=["paper_accuracy"])
    if not paper.empty:
        ax.scatter(paper["paper_size_kb"], 100 * paper["paper_accuracy"], marker="s", facecolor="none",
                   edgecolor="grey", label="paper (Table 2)")
    ax.set_xscale("log")
    ax.set_xlabel("model size (KB, parameters × b̄ / 8 / 1000)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{corpus}: accuracy vs size of quantized models")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(out, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
