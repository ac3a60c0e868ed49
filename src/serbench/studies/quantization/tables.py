"""The quantization study's tables: per-run rows, their mean ± std, paired differences against fp32 with
bootstrap intervals, and the step that writes them.

Statistics that can tell variants apart: every quantized model is compared
with the float32 model it was quantized from (same data, same seed). Folds are
pooled within a seed: a seed's accuracy is over the test utterances of all its
folds together (one fold for the random split and cross-corpus tests), so each
seed gives one paired difference ``Δ = accuracy(variant) - accuracy(fp32)``.
The table reports the mean Δ over seeds and its 95 % percentile bootstrap
interval over seeds (scipy.stats.bootstrap, 9,999 resamples, fixed seed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import bootstrap

from serbench.atomic import write_csv, write_text
from serbench.cache import read_records
from serbench.literature import shinde2024_table2
from serbench.provenance import distinct_values
from serbench.settings.quantization import FINE_TUNED
from serbench.studies.quantization.literature import literature_markdown

RUN_COLUMNS = (
    "dataset protocol model quantizer variant fold seed n_params avg_bits size_kb paper_count_kb file_bytes accuracy "
    "uar macro_f1 chance_wa chance_ua n_test n_correct n_search classes serbench_version git_commit"
).split()
SCORES = ["accuracy", "uar", "macro_f1"]
KEYS = ["dataset", "model", "protocol", "quantizer", "variant"]
CELL = ["dataset", "model", "protocol"]
SUMMARY_COLUMNS = (
    KEYS
    + (
        "allocator qat n_params avg_bits size_kb paper_count_kb file_bytes accuracy accuracy_std uar uar_std macro_f1 "
        "macro_f1_std delta_vs_fp32 delta_ci95_low delta_ci95_high delta_vs_ft delta_vs_ft_ci95_low "
        "delta_vs_ft_ci95_high chance_wa chance_ua n_test n_seeds n_folds n_runs "
        "classes pooling paper_accuracy paper_size_kb serbench_version git_commit seeds"
    ).split()
)
POOLING = "per seed, test utterances of all folds pooled; Δ mean and 95% bootstrap interval over seeds"


def variant_order(variant: str) -> int:
    """Sort key: fp32, its fine-tuned control, fixed8 ... fixed1, adaptive, sensitivity, then the QAT rows.

    >>> sorted(["adaptive+qat", "fixed2", "fp32+ft", "fp32", "sensitivity", "fixed8", "adaptive"], key=variant_order)
    ['fp32', 'fp32+ft', 'fixed8', 'fixed2', 'adaptive', 'sensitivity', 'adaptive+qat']
    """
    base, _, qat = variant.partition("+")
    if base == "fp32":
        return 1 if qat else 0
    rank = 9 - int(base[5:]) if base.startswith("fixed") else {"adaptive": 9, "sensitivity": 10}.get(base, 11)
    return rank + (20 if qat else 0)


def allocator(variant: str) -> str:
    """How a variant's widths were chosen: ``fixed``, ``importance`` (eq. 4), ``sensitivity``, or ``""`` for fp32."""
    base = variant.partition("+")[0]
    return "" if base == "fp32" else "fixed" if base.startswith("fixed") else {"adaptive": "importance"}.get(base, base)


def read_runs(records: list[dict]) -> pd.DataFrame:
    """One row per (dataset, protocol, model, quantizer, variant, fold, seed) from the quantize step's records.

    Raises:
        ValueError: a record lacks a column.
    """
    try:
        rows = [{column: record[column] for column in RUN_COLUMNS} for record in records]
    except KeyError as err:
        raise ValueError(f"a run record lacks {err}: not a serbench metrics file") from err
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def interval(deltas: np.ndarray) -> tuple[float, float]:
    """95 % percentile bootstrap interval of the mean of ``deltas``; NaN with fewer than two values.

    >>> interval(np.array([0.01, 0.01, 0.01]))
    (0.01, 0.01)
    """
    if len(deltas) < 2:
        return float("nan"), float("nan")
    if np.ptp(deltas) == 0:
        return float(deltas[0]), float(deltas[0])
    result = bootstrap(
        (deltas,),
        np.mean,
        confidence_level=0.95,
        n_resamples=9999,
        method="percentile",
        random_state=np.random.default_rng(0),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def paired_deltas(runs: pd.DataFrame, reference: str = "fp32", within: list[str] = CELL) -> pd.DataFrame:
    """Per variant row and seed, pooled test accuracy minus the ``reference`` variant's pooled accuracy over the
    same trained models (same seed, matched on ``within``: the cell for fp32, the cell and quantizer otherwise).

    Returns:
        Columns ``KEYS + [seed, delta]``.
    """
    pooled = runs.groupby([*KEYS, "seed"], as_index=False)[["n_correct", "n_test"]].sum()
    pooled["pooled_accuracy"] = pooled["n_correct"] / pooled["n_test"]
    base = pooled[pooled["variant"] == reference][[*within, "seed", "pooled_accuracy"]]
    paired = pooled.merge(base, on=[*within, "seed"], suffixes=("", "_reference"))
    return paired.assign(delta=paired["pooled_accuracy"] - paired["pooled_accuracy_reference"])[
        [*KEYS, "seed", "delta"]
    ]


def allocator_comparison(runs: pd.DataFrame) -> pd.DataFrame:
    """The sensitivity allocator against the paper's importance allocator I(l) (eq. 4), paired per seed.

    For each cell and quantizer, ``sensitivity - adaptive`` (and the same after QAT): the mean b̄ of each
    and the mean paired accuracy difference with its 95 % bootstrap interval over seeds. The sensitivity
    allocator's budget is the adaptive variant's b̄ of the same model, so its b̄ is at most that.
    """
    rows, bits = [], runs.groupby([*CELL, "quantizer", "variant"])["avg_bits"].mean()
    for variant, reference in (("sensitivity", "adaptive"), ("sensitivity+qat", "adaptive+qat")):
        deltas = paired_deltas(runs, reference, [*CELL, "quantizer"])
        for key, group in deltas[deltas["variant"] == variant].groupby([*CELL, "quantizer"], sort=False):
            low, high = interval(group["delta"].to_numpy())
            rows.append(
                dict(zip([*CELL, "quantizer"], key))
                | {"comparison": f"{variant} − {reference}", "bits_sensitivity": bits[(*key, variant)]}
                | {"bits_importance": bits[(*key, reference)], "delta": group["delta"].mean(), "low": low, "high": high}
            )
    return pd.DataFrame(rows)


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean over folds and seeds per dataset × model × protocol × quantizer × variant, with std of each score,
    the paired Δ against fp32 and its interval (for QAT rows also against ``fp32+ft``, the same fine-tuning
    without a quantizer), and the paper's figures.

    The paper's accuracy and size (Shinde et al. 2024, Table 2) stand beside rows of its protocol (random)
    for the corpus, model and variant it reports.
    """
    grouped = runs.groupby(KEYS, sort=False)
    means = [
        "n_params",
        "avg_bits",
        "size_kb",
        "paper_count_kb",
        "file_bytes",
        *SCORES,
        "chance_wa",
        "chance_ua",
        "n_test",
    ]
    table = grouped[means].mean()
    for score in SCORES:
        table[f"{score}_std"] = grouped[score].std(ddof=1).fillna(0.0)
    table["n_seeds"], table["n_folds"], table["n_runs"] = (
        grouped["seed"].nunique(),
        grouped["fold"].nunique(),
        grouped.size(),
    )
    for column in ("classes", "serbench_version", "git_commit", "seed"):
        table["seeds" if column == "seed" else column] = grouped[column].agg(distinct_values)
    table = table.reset_index()
    table = table.merge(_delta_stats(paired_deltas(runs), "delta_vs_fp32", "delta_ci95"), on=KEYS, how="left")
    against_ft = paired_deltas(runs, FINE_TUNED)  # QAT against the same fine-tuning without a quantizer
    against_ft = against_ft[against_ft["variant"].str.endswith("+qat")]
    table = table.merge(_delta_stats(against_ft, "delta_vs_ft", "delta_vs_ft_ci95"), on=KEYS, how="left")
    paper = shinde2024_table2().rename(
        columns={"corpus": "dataset", "accuracy": "paper_accuracy", "size_kb": "paper_size_kb"}
    )
    table = table.merge(
        paper[["dataset", "model", "variant", "paper_accuracy", "paper_size_kb"]],
        on=["dataset", "model", "variant"],
        how="left",
    )
    table.loc[table["protocol"] != "random", ["paper_accuracy", "paper_size_kb"]] = float("nan")  # the paper's split
    table = table.assign(
        allocator=table["variant"].map(allocator),
        qat=table["variant"].str.endswith("+qat"),
        pooling=POOLING,
        n_params=table["n_params"].astype(int),
        file_bytes=table["file_bytes"].round().astype(int),
    )
    table = table.assign(_order=table["variant"].map(variant_order), _fp32=table["quantizer"] != "none")
    table = table.sort_values(["dataset", "model", "protocol", "_fp32", "quantizer", "_order"])
    table = table.drop(columns=["_order", "_fp32"])
    return table[SUMMARY_COLUMNS].reset_index(drop=True)


def _delta_stats(deltas: pd.DataFrame, mean: str, interval_prefix: str) -> pd.DataFrame:
    """Per row of ``KEYS``, the mean of :func:`paired_deltas`' ``delta`` over seeds and its :func:`interval`."""
    grouped = deltas.groupby(KEYS)["delta"]
    stats = pd.DataFrame({mean: grouped.mean(), "ci": grouped.agg(lambda d: interval(d.to_numpy()))})
    bounds = pd.DataFrame(stats.pop("ci").tolist(), index=stats.index, columns=["low", "high"])
    stats[f"{interval_prefix}_low"], stats[f"{interval_prefix}_high"] = bounds["low"], bounds["high"]
    return stats.reset_index()


def _percent(value: float, digits: int = 2) -> str:
    return "" if pd.isna(value) else f"{100 * value:.{digits}f}"


def to_markdown(table: pd.DataFrame) -> str:
    """The summary as a Markdown table: scores as ``mean ± std`` in percent, Δ with its interval."""
    shown = pd.DataFrame(
        {
            **{k: table[k] for k in KEYS},
            "b̄": table["avg_bits"].map("{:.2f}".format),
            "size (KB)": table["size_kb"].map("{:.1f}".format),
            "file (bytes)": table["file_bytes"],
            **{
                label: [f"{100 * m:.2f} ± {100 * s:.2f}" for m, s in zip(table[score], table[f"{score}_std"])]
                for label, score in (("WA %", "accuracy"), ("UA %", "uar"), ("macro-F1 %", "macro_f1"))
            },
            "Δ WA vs fp32 [95% CI]": [
                "" if v == "fp32" else f"{_percent(d)} [{_percent(lo)}, {_percent(hi)}]"
                for v, d, lo, hi in zip(
                    table["variant"], table["delta_vs_fp32"], table["delta_ci95_low"], table["delta_ci95_high"]
                )
            ],
            "Δ WA vs fp32+ft [95% CI]": [
                "" if pd.isna(d) else f"{_percent(d)} [{_percent(lo)}, {_percent(hi)}]"
                for d, lo, hi in zip(
                    table["delta_vs_ft"], table["delta_vs_ft_ci95_low"], table["delta_vs_ft_ci95_high"]
                )
            ],
            "chance WA / UA %": [
                f"{100 * w:.1f} / {100 * u:.1f}" for w, u in zip(table["chance_wa"], table["chance_ua"])
            ],
            "n (seeds × folds)": [f"{s} × {f}" for s, f in zip(table["n_seeds"], table["n_folds"])],
            "paper WA %": table["paper_accuracy"].map(_percent),
            "paper size (KB)": table["paper_size_kb"].map(lambda v: "" if pd.isna(v) else f"{v:.0f}"),
        }
    )
    note = (
        "\n\nWA = accuracy, UA = unweighted average recall; mean ± std over seeds and folds. "
        f"Δ: {POOLING}. Chance: the test set's majority-class share (WA) and 1/k (UA). "
        "Size = bytes of every code, scale and offset stored / 1000 (KB); file = the packed file on disk, header and "
        "standardisation buffers included. Quantizers: uniform = 2^b levels, min-max per tensor (default; the paper "
        "names none); mse = per-channel, MSE-optimal clipping; ternary = TWN at 2 bits, XNOR at 1; symmetric = "
        "2^(b-1)-1 levels a side (earlier releases). Variants: adaptive = the paper's importance-guided search "
        "(eq. 4); sensitivity = measured loss increase at the adaptive b̄; +qat = quantization-aware fine-tuning; "
        "fp32+ft = QAT's control, the float32 model fine-tuned by the same loop (epochs, rate, validation-chosen "
        "epoch, epoch 0 a candidate) without a quantizer: Δ vs fp32+ft is what the quantizer itself adds. "
        "Bit searches score the search half of the validation split. Paper figures: Shinde et al. 2024, Table 2 "
        "(random 80/10/10 split).\n"
    )
    return shown.to_markdown(index=False) + note + classes_note(table)


def classes_note(table: pd.DataFrame) -> str:
    """The emotions each cross-corpus dataset keeps (those every corpus of the pair holds), as a Markdown line."""
    cross = table[table["protocol"].str.startswith("cross_corpus")].drop_duplicates("dataset")
    if cross.empty:
        return ""
    kept = "; ".join(f"{d}: {len(c.split())} ({', '.join(c.split())})" for d, c in cross[["dataset", "classes"]].values)
    return f"\nCross-corpus rows keep the emotions both sides hold, the others are left out: {kept}.\n"


def allocators_markdown(comparison: pd.DataFrame) -> str:
    """The :func:`allocator_comparison` as a Markdown section (empty without a sensitivity variant)."""
    if comparison.empty:
        return ""
    shown = comparison[[*CELL, "quantizer", "comparison"]].assign(
        **{
            "b̄ sensitivity / I(l)": [
                f"{s:.2f} / {i:.2f}" for s, i in zip(comparison.bits_sensitivity, comparison.bits_importance)
            ],
            "Δ WA % [95% CI]": [
                f"{_percent(d)} [{_percent(lo)}, {_percent(hi)}]"
                for d, lo, hi in zip(comparison.delta, comparison.low, comparison.high)
            ],
        }
    )
    return (
        f"\n## Allocators: sensitivity against the paper's I(l), paired per seed\n\n{shown.to_markdown(index=False)}\n"
    )


def write_tables(
    metrics_paths: list[str], runs_out: str, csv_out: str, md_out: str, literature_out: str, config_hash: str = ""
) -> None:
    """Per-run CSV, summary CSV and Markdown, and the literature comparison (paper's Table 3 layout).

    Every row of both CSVs carries ``config_hash`` (the study's, from the
    workflow), the package version and git commit of its runs, and its seed(s).

    Raises:
        DamagedFileError: a metrics file is not readable JSON; the message names it and how to rebuild it.
    """
    records = [record for path in metrics_paths for record in read_records(path, RUN_COLUMNS)]
    runs = read_runs(records).assign(config_hash=config_hash)
    table = summarize(runs).assign(config_hash=config_hash)
    write_csv(runs_out, runs)
    write_csv(csv_out, table)
    write_text(md_out, to_markdown(table) + allocators_markdown(allocator_comparison(runs)))
    write_text(literature_out, literature_markdown(table))
