"""The quantization study's tables: per-run rows, their summary per variant on one pooled basis with intervals
over seeds and test units (:mod:`~serbench.studies.quantization.pooling`), and the step that writes them.

Every quantized model is compared with the float32 model it was quantized
from (same data, same seed, same test utterances): ``Δ = accuracy(variant) -
accuracy(fp32)``, both pooled over the test utterances of every fold and seed.
"""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd

from serbench.atomic import write_csv, write_text
from serbench.corpora import read_manifest
from serbench.errors import InputError
from serbench.literature import shinde2024_table2
from serbench.overlap import overlap_markdown
from serbench.provenance import distinct_values
from serbench.settings.names import QuantizationVariant
from serbench.settings.quantization import FINE_TUNED, PAPER_FEATURES
from serbench.step_files import read_records
from serbench.studies.quantization.literature import literature_markdown
from serbench.studies.quantization.markdown import allocators_markdown, paper_layout_markdown, to_markdown
from serbench.studies.quantization.overlap import ROW, speaker_overlap
from serbench.studies.quantization.pooling import (
    CELL,
    KEYS,
    PER_UTTERANCE,
    interval_columns,
    paired_differences,
    pooled_accuracy,
    split_records,
)

RUN_COLUMNS = (
    "dataset features protocol model quantizer variant fold seed n_params avg_bits size_kb paper_count_kb file_bytes "
    "accuracy uar macro_f1 chance_wa chance_ua n_test n_correct n_search classes serbench_version git_commit"
).split()
OPTIONAL_RUN_COLUMNS = ["model_file"]  # records written before it was kept lack it: read as empty
SCORES = ["uar", "macro_f1"]
SUMMARY_COLUMNS = [
    *KEYS,
    *"allocator qat n_params avg_bits size_kb paper_count_kb file_bytes model_file".split(),
    *["accuracy", "accuracy_seed_std", *interval_columns("accuracy")],
    *"uar uar_std macro_f1 macro_f1_std".split(),
    *["delta_vs_fp32", *interval_columns("delta_vs_fp32"), "delta_vs_ft", *interval_columns("delta_vs_ft")],
    *"chance_wa chance_ua n_test n_speakers_test n_seeds n_folds n_runs classes pooling".split(),
    *"paper_accuracy paper_size_kb serbench_version git_commit seeds".split(),
]
POOLING = (
    "accuracy and Δ pooled over the test utterances of every fold and seed; 95% intervals: t over seeds "
    "(ci95_seeds) and a seeds × test-units bootstrap (ci95_seeds_units; units: utterances for the random split, "
    "speakers otherwise); UA and macro-F1 are means over runs"
)


def read_runs(records: list[dict]) -> pd.DataFrame:
    """One row per (dataset, protocol, model, quantizer, variant, fold, seed) from the quantize step's records.

    Raises:
        ValueError: a record lacks a column.
    """
    try:
        rows = [
            {column: record[column] for column in RUN_COLUMNS} | {c: record.get(c) for c in OPTIONAL_RUN_COLUMNS}
            for record in records
        ]
    except KeyError as err:
        raise InputError(f"a run record lacks {err}: not a serbench metrics file") from err
    return pd.DataFrame(rows, columns=[*RUN_COLUMNS, *OPTIONAL_RUN_COLUMNS])


def allocator_comparison(units: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """The sensitivity allocator against the paper's importance allocator I(l) (eq. 4), paired on runs.

    For each cell and quantizer, ``sensitivity - adaptive`` (and the same after QAT): the mean b̄ of each and
    the pooled accuracy difference with its seeds × test-units interval. The sensitivity allocator's budget is
    the adaptive variant's b̄ of the same model, so its b̄ is at most that.
    """
    rows, bits = [], runs.groupby([*CELL, "quantizer", "variant"])["avg_bits"].mean()
    for variant, reference in (("sensitivity", "adaptive"), ("sensitivity+qat", "adaptive+qat")):
        pairs = units[units["variant"].isin([variant, reference])]
        deltas = paired_differences(pairs, reference, [*CELL, "quantizer"], "delta")
        for row in deltas.itertuples():
            key = tuple(getattr(row, c) for c in [*CELL, "quantizer"])
            rows.append(
                dict(zip([*CELL, "quantizer"], key))
                | {"comparison": f"{variant} − {reference}", "bits_sensitivity": bits[(*key, variant)]}
                | {"bits_importance": bits[(*key, reference)], "delta": row.delta}
                | {"low": row.delta_ci95_seeds_units_low, "high": row.delta_ci95_seeds_units_high}
            )
    return pd.DataFrame(rows)


def summarize(runs: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """One row per dataset × model × protocol × quantizer × variant: sizes and b̄ (means over runs), pooled
    accuracy with its intervals, UA and macro-F1 (mean ± std over runs), Δ against fp32 and, for QAT rows,
    against ``fp32+ft`` (the same fine-tuning without a quantizer), and the paper's figures.

    Args:
        runs: :func:`read_runs`; units: :func:`~serbench.studies.quantization.pooling.utterance_results` of the same
            records.

    The paper's accuracy and size (Shinde et al. 2024, Table 2) stand beside rows of its protocol (random) and
    features (MFCC + Chroma + Mel) for the corpus, model and variant it reports.
    """
    grouped = runs.groupby(KEYS, sort=False)
    means = ["n_params", "avg_bits", "size_kb", "paper_count_kb", "file_bytes", *SCORES, "chance_wa", "chance_ua"]
    table = grouped[means].mean()
    for score in SCORES:
        table[f"{score}_std"] = grouped[score].std(ddof=1).fillna(0.0)
    table["n_seeds"], table["n_folds"], table["n_runs"] = (
        grouped["seed"].nunique(),
        grouped["fold"].nunique(),
        grouped.size(),
    )
    table["model_file"] = grouped["model_file"].first()  # one run's packed file: what serbench predict serves
    for column in ("classes", "serbench_version", "git_commit", "seed"):
        table["seeds" if column == "seed" else column] = grouped[column].agg(distinct_values)
    table = table.reset_index().merge(pooled_accuracy(units), on=KEYS, how="left")
    table = table.merge(paired_differences(units, "fp32", CELL, "delta_vs_fp32"), on=KEYS, how="left")
    qat = units[units["variant"].str.endswith("+qat") | (units["variant"] == FINE_TUNED)]
    table = table.merge(paired_differences(qat, FINE_TUNED, CELL, "delta_vs_ft"), on=KEYS, how="left")
    paper = shinde2024_table2().rename(
        columns={"corpus": "dataset", "accuracy": "paper_accuracy", "size_kb": "paper_size_kb"}
    )
    table = table.merge(
        paper[["dataset", "model", "variant", "paper_accuracy", "paper_size_kb"]],
        on=["dataset", "model", "variant"],
        how="left",
    )
    elsewhere = (table["protocol"] != "random") | (table["features"] != PAPER_FEATURES)  # not the paper's setting
    table.loc[elsewhere, ["paper_accuracy", "paper_size_kb"]] = float("nan")
    variants = table["variant"].map(QuantizationVariant.parse)
    table = table.assign(
        allocator=[v.allocator for v in variants],
        qat=[v.qat for v in variants],
        pooling=POOLING,
        n_params=table["n_params"].astype(int),
        file_bytes=table["file_bytes"].round().astype(int),
    )
    table = table.assign(_order=[v.order for v in variants], _fp32=table["quantizer"] != "none")
    table = table.sort_values(["dataset", "features", "model", "protocol", "_fp32", "quantizer", "_order"])
    table = table.drop(columns=["_order", "_fp32"])
    return table[SUMMARY_COLUMNS].reset_index(drop=True)


class TableFiles(NamedTuple):
    """The quantization table step's outputs."""

    runs: str
    csv: str
    md: str
    literature: str
    overlap: str


def write_tables(
    metrics_paths: list[str],
    manifest_paths: dict[str, str],
    out: TableFiles,
    config_hash: str = "",
) -> None:
    """Per-run CSV, summary CSV and Markdown, the literature comparison (paper's Table 3 layout), and the speaker
    overlap table (:mod:`~serbench.studies.quantization.overlap`; its emotions from ``manifest_paths``, corpus ->
    manifest).

    Every row of both CSVs carries ``config_hash`` (the study's, from the
    workflow), the package version and git commit of its runs, and its seed(s).

    Raises:
        DamagedFileError: a metrics file is not readable JSON, or its records lack a column; the message names
            it and how to rebuild it.
    """
    columns = [*RUN_COLUMNS, *PER_UTTERANCE]
    records, units = split_records(r for path in metrics_paths for r in read_records(path, columns))
    runs = read_runs(records).assign(config_hash=config_hash)
    table = summarize(runs, units).assign(config_hash=config_hash)
    emotion = {
        (corpus, u): e
        for corpus, path in manifest_paths.items()
        for u, e in read_manifest(path)[["utterance_id", "emotion"]].itertuples(index=False)
    }
    overlap = speaker_overlap(units, emotion).assign(config_hash=config_hash)
    write_csv(out.runs, runs)
    write_csv(out.csv, table)
    write_csv(out.overlap, overlap)
    gains = overlap_markdown(overlap, ROW, "Speaker overlap: UA on EmoBox's folds minus UA on speaker folds (float32)")
    full = to_markdown(table) + gains + allocators_markdown(allocator_comparison(units, runs))
    write_text(out.md, paper_layout_markdown(table) + full)
    write_text(out.literature, literature_markdown(table))
