"""The deployment plot: UA against bytes on disk and against latency, a row of panels per task, the Pareto front
named, EmoBox's quoted upstreams as reference marks beside the suite's models of the same corpus."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from serbench.emobox.references import REFERENCE_STUDY  # noqa: E402

STUDY_MARKERS = {"quantization": "o", "distilhubert": "s", "selfdistill": "^"}
NO_ROWS = "no model of this run was scored under a speaker-independent protocol"


def deployment_figure(table: pd.DataFrame) -> Figure:
    """UA against bytes on disk and against 1-thread latency, a row of two panels per task; front rows drawn
    filled with a black edge, the others hollow. The bytes panel names the front's models in a column beside it,
    best UA first, each name joined to its point (models at one point in one name), so no two names overprint.
    The latency panel adds each feature model's classifier alone (small dots): feature extraction, shared by every
    family of a feature set, would otherwise stack them on one vertical line. Rows of ``REFERENCE_STUDY`` are no
    task of their own: grey crosses on the bytes panel of each task of their corpus, the best one named."""
    references = table[table["study"] == REFERENCE_STUDY]
    table = table[table["study"] != REFERENCE_STUDY]
    tasks = sorted(table["task"].unique())
    fig, axes = plt.subplots(max(len(tasks), 1), 2, figsize=(14, 4.6 * max(len(tasks), 1)), squeeze=False)
    if not tasks:
        for ax in axes[0]:
            ax.text(0.5, 0.5, NO_ROWS, ha="center", va="center", wrap=True)
            ax.set_axis_off()
    colours = dict(zip(STUDY_MARKERS, plt.get_cmap("tab10").colors))
    for row, task in zip(axes, tasks):
        rows = table[table["task"] == task]
        for ax, x in zip(row, ("bytes", "latency_ms")):
            for study, marks in rows.groupby("study"):
                for front, style in ((False, {"facecolors": "none"}), (True, {"edgecolors": "black"})):
                    part = marks[marks["pareto"] == front]
                    name = f"{study}{' (front)' if front else ''}"
                    ax.scatter(part[x], 100 * part["ua"], marker=STUDY_MARKERS[study], s=40, label=name,
                               color=colours[study], **style)  # fmt: skip
            ax.set_ylabel("UA (%)")
            ax.set_title(task, fontsize=10)
            ax.grid(alpha=0.3)
        _name_front(row[0], rows[rows["pareto"]])
        _mark_references(row, references[references["task"].str.split(",").str[0] == task.split(",")[0]])
        classifier = rows.dropna(subset=["classifier_ms"])
        if len(classifier):
            row[1].scatter(classifier["classifier_ms"], 100 * classifier["ua"], s=8, color=colours["quantization"],
                           alpha=0.6, label="quantization: classifier alone")  # fmt: skip
        for ax, x, label in zip(row, ("bytes", "latency_ms"), ("bytes on disk", "ms per clip, 1 thread")):
            if rows[x].gt(0).any():
                ax.set_xscale("log")
            else:
                ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes)
            ax.set_xlabel(label)
        row[1].legend(fontsize=8, loc="best")
    return fig


def _name_front(ax, front: pd.DataFrame) -> None:
    """The front's models as a column of names right of ``ax``, best UA first, evenly spaced, each joined to its
    point by a thin line."""
    points = sorted(front.groupby(["bytes", "ua"], sort=False), key=lambda item: -item[0][1])
    for k, ((where, ua), marks) in enumerate(points):
        names = " / ".join(f"{m} {v}" for m, v in zip(marks["model"], marks["variant"]))
        height = 1 - (k + 0.5) / max(len(points), 1)
        ax.annotate(names, (where, 100 * ua), xytext=(1.03, height), textcoords="axes fraction", fontsize=6,
                    va="center", arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "grey"})  # fmt: skip


def _mark_references(row, references: pd.DataFrame) -> None:
    """Quoted upstreams as grey crosses on the bytes panel, the best named beside its cross; their legend entry on
    the latency panel, which has no such marks (they have no latency)."""
    if references.empty:
        return
    row[0].scatter(references["bytes"], 100 * references["ua"], marker="x", s=30, color="grey")
    best = references.loc[references["ua"].idxmax()]
    row[0].annotate(best["source"], (best["bytes"], 100 * best["ua"]), xytext=(-4, -4), textcoords="offset points",
                    ha="right", va="top", fontsize=6, color="dimgrey")  # fmt: skip
    label = "EmoBox upstreams (quoted: EmoBox folds, all classes)"
    row[1].scatter([], [], marker="x", s=30, color="grey", label=label)
