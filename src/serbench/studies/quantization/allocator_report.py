"""The allocator curves' table (``allocators.csv``) and plots: accuracy against b̄, a line per allocator.

Each point pools the test utterances of every fold and seed of its cell, as the
quantization table does (:mod:`.pooling`); its Δ is paired with the float32
model of the same runs. ``avg_bits`` is the mean b̄ over runs and
``avg_bits_seed_min``/``_max``/``_std`` its spread over seeds (each seed's b̄
averaged over its folds): how much the allocator's choice depends on the
training seed and on which utterances it scored. ``kendall_tau_vs_hessian`` is
the mean over runs of Kendall's τ between the allocator's layer ranking and
HAWQ-V2's on the same model (:func:`ranking_agreement`): how far a cheaper
signal orders the layers as the second-order one does.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import kendalltau  # noqa: E402

from serbench.atomic import write_csv, write_figure  # noqa: E402
from serbench.errors import InputError  # noqa: E402
from serbench.settings.quantization import PAPER_FEATURES  # noqa: E402
from serbench.step_files import read_records  # noqa: E402
from serbench.studies.quantization.pooling import (  # noqa: E402
    CELL,
    interval_columns,
    paired_differences,
    pooled_accuracy,
    split_records,
)

POINT = [*CELL, "quantizer", "allocator", "knob", "value"]
RECORD_COLUMNS = [*POINT, *"fold seed avg_bits test_utterances test_speakers test_correct layer_scores".split()]
REFERENCE = "hessian"  # the allocator whose layer ranking the others are compared with
COLUMNS = [
    *POINT,
    *"avg_bits avg_bits_seed_std avg_bits_seed_min avg_bits_seed_max".split(),
    *["accuracy", *interval_columns("accuracy")],
    *["delta_vs_fp32", "delta_ci95_low", "delta_ci95_high", *interval_columns("delta_vs_fp32")],
    *"n_seeds n_runs n_test n_speakers_test kendall_tau_vs_hessian".split(),
]
STYLE = {
    "importance": ("tab:blue", "o", "importance I(l), accuracy margin (paper)"),
    "importance_ll": ("tab:cyan", "v", "importance I(l), log-likelihood margin"),
    "sensitivity": ("tab:orange", "s", "sensitivity (search-subset loss)"),
    "hessian": ("tab:green", "D", "Hessian trace (HAWQ-V2)"),
    "fit": ("tab:red", "^", "Fisher trace (FIT)"),
}
DODGE = 0.04  # b̄ between neighbouring allocators' error bars in the plot (drawn only; the table keeps the true b̄)


def allocator_table(records: Iterable[dict]) -> pd.DataFrame:
    """One row per cell, allocator and knob value: b̄ and its spread over seeds, pooled accuracy and Δ vs fp32.

    ``records`` (the curves' run records) are read once, so a generator over metrics files holds one file's
    per-utterance lists at a time (:func:`~serbench.studies.quantization.pooling.split_records`).

    ``delta_ci95_low``/``_high`` are the seeds × test-units interval (:mod:`serbench.intervals`); the
    ``_ci95_seeds_*`` columns the t interval over seeds.
    """
    keys = [*CELL, "quantizer", "variant"]
    records, units = split_records(records, keys, _point_name)
    points = pd.DataFrame([{k: r[k] for k in [*POINT, "seed", "avg_bits", "variant"]} for r in records])
    per_seed = points.groupby([*keys, "seed"])["avg_bits"].mean().groupby(keys)
    grouped = points.groupby(keys, sort=False)
    table = (
        grouped[POINT[-3:]]
        .first()
        .assign(
            avg_bits=grouped["avg_bits"].mean(),
            avg_bits_seed_std=per_seed.std(ddof=1).fillna(0.0),
            avg_bits_seed_min=per_seed.min(),
            avg_bits_seed_max=per_seed.max(),
            n_seeds=grouped["seed"].nunique(),
            n_runs=grouped.size(),
        )
    )
    table = table.reset_index().merge(pooled_accuracy(units, keys), on=keys, how="left")
    deltas = paired_differences(units, "fp32", [*CELL, "quantizer"], "delta_vs_fp32", keys)
    table = table.merge(deltas, on=keys, how="left").assign(
        delta_ci95_low=lambda t: t["delta_vs_fp32_ci95_seeds_units_low"],
        delta_ci95_high=lambda t: t["delta_vs_fp32_ci95_seeds_units_high"],
    )
    table = table.merge(ranking_agreement(records), on=[*CELL, "quantizer", "allocator"], how="left")
    return table.sort_values([*CELL, "allocator", "avg_bits"])[COLUMNS].reset_index(drop=True)


def ranking_agreement(records: list[dict]) -> pd.DataFrame:
    """Per cell, quantizer and allocator: ``kendall_tau_vs_hessian``, the mean over runs (fold × seed) of Kendall's
    τ-b between the allocator's ``layer_scores`` and HAWQ-V2's on the same model (1 for HAWQ itself; NaN where a
    run has no HAWQ scores or a ranking is constant).

    >>> rec = lambda a, s: dict(dataset="d", features="f", model="m", protocol="p", quantizer="u", allocator=a,
    ...                         fold="0", seed=0, layer_scores=dict(zip("abc", s)))
    >>> t = ranking_agreement([rec("hessian", [3, 2, 1]), rec("fit", [3, 1, 2]), rec("fp32", [])])
    >>> dict(zip(t["allocator"], t["kendall_tau_vs_hessian"].round(3)))
    {'fit': 0.333, 'hessian': 1.0}
    """
    run = [*CELL, "quantizer", "fold", "seed"]
    scores = {(*(r[k] for k in run), r["allocator"]): r["layer_scores"] for r in records if r["layer_scores"]}
    rows = []
    for (*key, allocator), layer_scores in scores.items():
        reference = scores.get((*key, REFERENCE), {})
        layers = sorted(set(reference) & set(layer_scores))
        tau = kendalltau([reference[x] for x in layers], [layer_scores[x] for x in layers]).statistic
        rows.append(dict(zip(run, key)) | {"allocator": allocator, "kendall_tau_vs_hessian": tau})
    columns = [*CELL, "quantizer", "allocator", "kendall_tau_vs_hessian"]
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(rows).groupby(columns[:-1], as_index=False)["kendall_tau_vs_hessian"].mean()


def _point_name(record: dict) -> str:
    return "fp32" if record["allocator"] == "fp32" else f"{record['allocator']}:{record['knob']}={record['value']:g}"


def plot_allocators(
    curves: pd.DataFrame,
    summary: pd.DataFrame,
    dataset: str,
    protocol: str,
    out: str | Path,
    features: str = PAPER_FEATURES,
) -> None:
    """Accuracy against b̄ for one dataset, protocol and feature set, a panel per model family, a line per
    allocator.

    Error bars: the seeds × test-units 95 % interval of each point, each allocator's nudged sideways by
    :data:`DODGE` b̄ so that bars at one b̄ stand apart (bands of several allocators blur into one). The float32
    model and chance (the test set's majority-class share) are horizontal lines; the quantization table's own
    points of the same quantizer stand on the curves: the paper's ``adaptive`` variant (its default T_margin) and
    the QAT rows (hollow).

    Raises:
        ValueError: no curve for ``dataset`` and ``protocol``.
    """
    rows = curves[(curves["dataset"] == dataset) & (curves["protocol"] == protocol) & (curves["features"] == features)]
    if rows.empty:
        raise InputError(f"no allocator curves for {dataset} / {protocol} / {features}")
    models = list(dict.fromkeys(rows["model"]))
    fig, axes = plt.subplots(1, len(models), figsize=(6.5 * len(models), 4.6), squeeze=False)
    for ax, model in zip(axes[0], models):
        cell = rows[rows["model"] == model]
        fp32 = cell[cell["allocator"] == "fp32"].iloc[0]
        ax.axhline(100 * fp32["accuracy"], color="black", linewidth=1, label="fp32")
        table = summary[
            (summary["dataset"] == dataset)
            & (summary["features"] == features)
            & (summary["protocol"] == protocol)
            & (summary["model"] == model)
            & (summary["quantizer"].isin([fp32["quantizer"], "none"]))
        ]
        if not table.empty:
            ax.axhline(100 * table["chance_wa"].iloc[0], color="grey", linestyle=":", linewidth=1, label="chance")
        for k, (allocator, (colour, marker, label)) in enumerate(STYLE.items()):
            line = cell[cell["allocator"] == allocator].sort_values("avg_bits")
            if line.empty:
                continue
            accuracy = 100 * line["accuracy"]
            low, high = (100 * line[f"accuracy_ci95_seeds_units_{s}"] for s in ("low", "high"))
            ax.errorbar(line["avg_bits"] + DODGE * (k - (len(STYLE) - 1) / 2), accuracy, yerr=[accuracy - low,
                        high - accuracy], color=colour, marker=marker, markersize=4, capsize=2, elinewidth=0.7,
                        label=label)  # fmt: skip
        paper = table[table["variant"] == "adaptive"]
        ax.plot(paper["avg_bits"], 100 * paper["accuracy"], "*", color="navy", markersize=13, label="table: adaptive")
        qat = table[table["variant"].str.endswith("+qat")]
        ax.plot(
            qat["avg_bits"], 100 * qat["accuracy"], "o", mfc="none", color="purple", markersize=8, label="table: +QAT"
        )
        ax.set_xlabel("b̄ (mean bits per weight, eq. 5)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{model}, {fp32['quantizer']} quantizer", fontsize=10)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="lower right")
    where = f"{dataset}, {protocol.replace('_', ' ')}, {features.replace('_', ' + ')}"
    fig.suptitle(f"Allocators: accuracy against b̄\n{where}", fontsize=11)
    fig.tight_layout()
    write_figure(out, fig)


def write_allocator_report(metrics_paths: list[str], summary_csv: str, csv_out: str, plots: dict) -> None:
    """``allocators.csv`` from every cell's curve records, and one plot per ``(dataset, protocol)`` in ``plots``.

    Raises:
        DamagedFileError: a metrics file is not readable JSON or its records lack a column.
    """
    table = allocator_table(r for path in metrics_paths for r in read_records(path, RECORD_COLUMNS))
    write_csv(csv_out, table)
    summary = pd.read_csv(summary_csv, keep_default_na=False, na_values=[""])
    for (dataset, protocol), out in plots.items():
        plot_allocators(table, summary, dataset, protocol, out)
