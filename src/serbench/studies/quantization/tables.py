"""The quantization study's tables: per-run rows, their mean ± std, and the step that writes them."""

from __future__ import annotations

import pandas as pd

from serbench.atomic import write_csv, write_text
from serbench.cache import read_json
from serbench.literature import shinde2024_table2
from serbench.provenance import distinct_values
from serbench.studies.quantization.literature import literature_markdown

RUN_COLUMNS = [
    "dataset",
    "protocol",
    "model",
    "variant",
    "fold",
    "seed",
    "n_params",
    "avg_bits",
    "size_kb",
    "file_bytes",
    "accuracy",
    "uar",
    "macro_f1",
    "n_test",
    "serbench_version",
    "git_commit",
]
SCORES = ["accuracy", "uar", "macro_f1"]
KEYS = ["dataset", "model", "protocol", "variant"]


def variant_order(variant: str) -> int:
    """Sort key: fp32 first, then fixed8 down to fixed1, adaptive last."""
    if variant == "fp32":
        return 0
    if variant.startswith("fixed"):
        return 9 - int(variant[5:])
    return 10


def read_runs(records: list[dict]) -> pd.DataFrame:
    """One row per (dataset, protocol, model, variant, fold, seed) from the quantize step's run records.

    Raises:
        ValueError: a record lacks a column; the message names the run.
    """
    try:
        rows = [{column: record[column] for column in RUN_COLUMNS} for record in records]
    except KeyError as err:
        raise ValueError(f"a run record lacks {err}: not a serbench metrics file") from err
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean over folds and seeds per dataset × model × protocol × variant, with std of each score.

    Adds the paper's accuracy and size (Shinde et al. 2024, Table 2) where the
    paper reports that corpus (dataset), model and variant, on rows of its protocol (random).
    """
    grouped = runs.groupby(KEYS, sort=False)
    table = grouped[["n_params", "avg_bits", "size_kb", "file_bytes", *SCORES, "n_test"]].mean()
    for score in SCORES:
        table[f"{score}_std"] = grouped[score].std(ddof=1).fillna(0.0)
    table["n_runs"] = grouped.size()
    for column in ("serbench_version", "git_commit", "seed"):
        table["seeds" if column == "seed" else column] = grouped[column].agg(distinct_values)
    table = table.reset_index()
    paper = shinde2024_table2().rename(
        columns={"corpus": "dataset", "accuracy": "paper_accuracy", "size_kb": "paper_size_kb"}
    )
    table = table.merge(
        paper[["dataset", "model", "variant", "paper_accuracy", "paper_size_kb"]],
        on=["dataset", "model", "variant"],
        how="left",
    )
    table.loc[table["protocol"] != "random", ["paper_accuracy", "paper_size_kb"]] = float(
        "nan"
    )  # the paper's split only
    table["n_params"] = table["n_params"].astype(int)
    table["file_bytes"] = table["file_bytes"].round().astype(int)
    order = table["variant"].map(variant_order)
    table = table.assign(_order=order).sort_values(["dataset", "model", "protocol", "_order"]).drop(columns="_order")
    columns = [
        "dataset",
        "model",
        "protocol",
        "variant",
        "n_params",
        "avg_bits",
        "size_kb",
        "file_bytes",
        "accuracy",
        "accuracy_std",
        "uar",
        "uar_std",
        "macro_f1",
        "macro_f1_std",
        "n_test",
        "n_runs",
        "paper_accuracy",
        "paper_size_kb",
        "serbench_version",
        "git_commit",
        "seeds",
    ]
    return table[columns].reset_index(drop=True)


def to_markdown(table: pd.DataFrame) -> str:
    """The summary as a Markdown table, scores as ``mean ± std`` in percent."""
    shown = pd.DataFrame(
        {
            "dataset": table["dataset"],
            "model": table["model"],
            "protocol": table["protocol"],
            "variant": table["variant"],
            "b̄": table["avg_bits"].map("{:.2f}".format),
            "size (KB)": table["size_kb"].map("{:.1f}".format),
            "file (bytes)": table["file_bytes"],
            **{
                label: [f"{100 * m:.2f} ± {100 * s:.2f}" for m, s in zip(table[score], table[f"{score}_std"])]
                for label, score in (("WA %", "accuracy"), ("UA %", "uar"), ("macro-F1 %", "macro_f1"))
            },
            "runs": table["n_runs"],
            "paper WA %": table["paper_accuracy"].map(lambda v: "" if pd.isna(v) else f"{100 * v:.2f}"),
            "paper size (KB)": table["paper_size_kb"].map(lambda v: "" if pd.isna(v) else f"{v:.0f}"),
        }
    )
    note = (
        "\n\nWA = accuracy, UA = unweighted average recall; mean ± std over seeds and folds. "
        "Size = parameters × b̄ / 8 / 1000 (the paper's count); file = bytes of the bit-packed model on disk. "
        "Paper figures: Shinde et al. 2024, Table 2 (random 80/10/10 split).\n"
    )
    return shown.to_markdown(index=False) + note


def write_tables(
    metrics_paths: list[str], runs_out: str, csv_out: str, md_out: str, literature_out: str, config_hash: str = ""
) -> None:
    """Per-run CSV, summary CSV and Markdown, and the literature comparison (paper's Table 3 layout).

    Every row of both CSVs carries ``config_hash`` (the study's, from the
    workflow), the package version and git commit of its runs, and its seed(s).

    Raises:
        DamagedFileError: a metrics file is not readable JSON; the message names it and how to rebuild it.
    """
    records = [record for path in metrics_paths for record in read_json(path, "metrics file")]
    runs = read_runs(records).assign(config_hash=config_hash)
    table = summarize(runs).assign(config_hash=config_hash)
    write_csv(runs_out, runs)
    write_csv(csv_out, table)
    write_text(md_out, to_markdown(table))
    write_text(literature_out, literature_markdown(table))
