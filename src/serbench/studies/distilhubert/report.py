"""Tables and plots of the DistilHuBERT study: Table I, the cross-corpus confusion matrix, the 8-bit model table."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from serbench.atomic import write_csv, write_figure, write_text  # noqa: E402
from serbench.cache import read_json  # noqa: E402
from serbench.literature import ismail_table1  # noqa: E402
from serbench.protocols import PRODUCTION_FOLD  # noqa: E402
from serbench.provenance import distinct_values  # noqa: E402

SETTINGS = {"base": "corpus only", "extra": "+ extra training corpora"}
SCORES = ("accuracy", "uar", "macro_f1")
METRIC = re.compile(r"(production_validation_|(production_)?cross_)?(accuracy|uar|macro_f1)|f1_.+")
RANDOM_NOTE = (
    "Encoder weights are random (no pretrained encoder offline): these scores measure the pipeline, not DistilHuBERT."
)


def run_rows(records: list[dict]) -> pd.DataFrame:
    """One row per (dataset, setting, fold, seed): WA, UA, macro-F1, per-class F1, cross-corpus scores, provenance.

    The production model's row (fold ``production``) has no test scores; its
    scores are ``production_validation_*`` (the 5 % share that chose its epoch)
    and ``production_cross_*``.
    """
    rows = []
    for record in records:
        keys = ("dataset", "setting", "fold", "seed", "n_test", "serbench_version", "git_commit")
        row = {k: record[k] for k in keys}
        prefix = "production_" if record["fold"] == PRODUCTION_FOLD else ""
        if prefix:
            row.update({f"production_validation_{k}": record["validation"][k] for k in SCORES})
        else:
            row.update({k: record[k] for k in SCORES} | {f"f1_{c}": v for c, v in record["f1_per_class"].items()})
        if "cross_corpus" in record:
            cross = record["cross_corpus"]
            row.update({"cross_corpus": cross["corpus"], **{f"{prefix}cross_{k}": cross[k] for k in SCORES}})
        rows.append(row)
    return pd.DataFrame(rows)


def table1(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over folds and seeds per dataset, setting and metric (long format).

    Columns ``dataset, metric, setting, mean, std, n_runs``; the paper's Table I
    figures (IEMOCAP) are added as ``paper_mean, paper_std`` on IEMOCAP rows.
    """
    metrics = [c for c in runs.columns if METRIC.fullmatch(c)]
    long = runs.melt(id_vars=["dataset", "setting"], value_vars=metrics, var_name="metric").dropna(subset=["value"])
    grouped = long.groupby(["dataset", "metric", "setting"], sort=False)["value"]
    table = grouped.agg(mean="mean", std=lambda v: v.std(ddof=1) if len(v) > 1 else 0.0, n_runs="size").reset_index()
    paper = ismail_table1().rename(columns={"mean": "paper_mean", "std": "paper_std"}).drop(columns="source")
    paper["dataset"] = "iemocap"
    return table.merge(paper, on=["dataset", "metric", "setting"], how="left")


def table1_markdown(table: pd.DataFrame, encoder: dict) -> str:
    """Table I layout: metrics as rows, settings side by side as ``mean ± std``, the gain, paper figures."""
    sections = []
    for dataset, rows in table.groupby("dataset", sort=False):
        wide = rows.pivot(index="metric", columns="setting", values=["mean", "std"])
        order = [m for m in rows["metric"].drop_duplicates()]
        lines = []
        for metric in order:
            line = {"metric / class": metric}
            for setting in [s for s in SETTINGS if ("mean", s) in wide.columns]:
                mean, std = wide.loc[metric, ("mean", setting)], wide.loc[metric, ("std", setting)]
                line[SETTINGS[setting]] = "" if pd.isna(mean) else f"{mean:.3f} ± {std:.3f}"
            if {("mean", "base"), ("mean", "extra")} <= set(wide.columns):
                line["gain (Δ)"] = (
                    f"{100 * (wide.loc[metric, ('mean', 'extra')] - wide.loc[metric, ('mean', 'base')]):+.1f}%"
                )
            paper = rows[(rows.metric == metric) & rows.paper_mean.notna()]
            line["paper (IEMOCAP)"] = " / ".join(f"{r.paper_mean:.3f} ± {r.paper_std:.3f}" for r in paper.itertuples())
            lines.append(line)
        n_runs = int(rows["n_runs"].max())
        sections.append(
            f"## {dataset} ({n_runs} runs per setting: folds × seeds)\n\n"
            f"{pd.DataFrame(lines).to_markdown(index=False)}\n"
        )
    header = (
        f"# DistilHuBERT study (Ismail, Table I layout)\n\nEncoder: {encoder['pretrained']} ({encoder['model_type']}, "
        f"{encoder['num_hidden_layers']} layers, {encoder['n_params']:,} parameters), "
        f"{'fine-tuned with the head' if encoder.get('finetuned') else 'frozen'}.\n"
    )
    if encoder.get("random_init"):
        header += f"\n**{RANDOM_NOTE}**\n"
    return (
        header
        + "\n"
        + "\n".join(sections)
        + "\ncross_* rows: the cross-corpus test corpus, scored by every fold's model.\n"
        + "production_* rows: the paper's production model, one per seed, trained on all of the corpus but a "
        "stratified random share (5 % by default) that validates and picks its epoch; production_validation_* "
        "scores that share (as the paper reports it, so it is not a held-out test), production_cross_* the "
        "cross-corpus test corpus.\n"
    )


def plot_confusion(records: list[dict], out: str | Path, encoder: dict) -> None:
    """Row-normalised cross-corpus confusion matrix, summed over seeds (and folds), one panel per setting and
    model: the fold models, and the production model when there is one."""
    by_setting: dict[tuple[str, str], np.ndarray] = {}
    classes: list[str] = []
    for record in records:
        if "cross_corpus" in record:
            key = (record["setting"], "production model" if record["fold"] == PRODUCTION_FOLD else "fold models")
            by_setting[key] = by_setting.get(key, 0) + np.asarray(record["cross_corpus"]["confusion"], dtype=float)
            classes, corpus = record["classes"], record["cross_corpus"]["corpus"]
    fig, axes = plt.subplots(1, max(len(by_setting), 1), figsize=(5 * max(len(by_setting), 1), 4.5), squeeze=False)
    for ax, ((setting, models), matrix) in zip(axes[0], sorted(by_setting.items())):
        normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
        ax.imshow(normalised, vmin=0, vmax=1, cmap="Blues")
        for (i, j), value in np.ndenumerate(normalised):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", color="white" if value > 0.5 else "black")
        ax.set_xticks(range(len(classes)), classes, rotation=45)
        ax.set_yticks(range(len(classes)), classes)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{corpus}, {models}, {SETTINGS.get(setting, setting)}", fontsize=10)
    if not by_setting:
        axes[0][0].text(0.5, 0.5, "no cross-corpus test configured", ha="center")
    if encoder.get("random_init"):
        fig.suptitle("random encoder weights", fontsize=9)
    write_figure(out, fig)


INT8_ROWS = (
    ("float", "float ONNX"),
    ("int8_static", "int8 ONNX, static (whole encoder: Conv + MatMul, calibrated)"),
    ("int8_mixed", "int8 ONNX, mixed (static, float activations in the CNN)"),
    ("int8_dynamic", "int8 ONNX, dynamic (MatMul/Gemm only)"),
)
RUNTIMES = (
    ("PyTorch float32", "pytorch_float"),
    ("ONNX Runtime float32", "onnx_float"),
    ("ONNX Runtime int8, static (Conv + MatMul, QDQ, per-channel)", "onnx_int8_static"),
    ("ONNX Runtime int8, mixed (static, float activations in the CNN)", "onnx_int8_mixed"),
    ("ONNX Runtime int8, dynamic (MatMul/Gemm)", "onnx_int8_dynamic"),
)


def int8_markdown(int8: dict, latency: dict) -> str:
    """The 8-bit model table: sizes (MB), UA and fidelity per scheme, and CPU latency per clip per thread count."""
    sizes = pd.DataFrame(
        [
            {
                "study encoder": name,
                "size (MB)": f"{int8[f'encoder_{kind}_mb']:.2f}",
                "UA over test folds": f"{int8[f'uar_{kind}_mean']:.3f} ± {int8[f'uar_{kind}_std']:.3f}",
                "cosine vs float (last hidden states)": "1"
                if kind == "float"
                else f"{int8[f'cosine_{kind}_mean']:.4f} ± {int8[f'cosine_{kind}_std']:.4f}",
            }
            for kind, name in INT8_ROWS
        ]
    )
    clip = f"{latency['clip_seconds']:.0f} s clip"
    timing = pd.DataFrame(
        [
            {"runtime": name, "size (MB)": f"{latency[f'{key}_mb']:.1f}"}
            | {
                f"ms per {clip}, {threads} thread(s)": f"{1000 * seconds:.0f}"
                for threads, seconds in latency[f"latency_{key}_s"].items()
            }
            for name, key in RUNTIMES
        ]
    )
    return (
        f"# 8-bit model\n\n## Accuracy and fidelity before and after int8 ({int8['pretrained']}, "
        f"{len(int8['heads'])} heads, static and mixed schemes calibrated on {int8['calibration_utterances']} "
        f"training utterances)\n\n{sizes.to_markdown(index=False)}\n\nDeployable `model.int8.onnx`: "
        f"{int8['deployed_int8']} int8 of `{int8['deployed_head']}`.\n\n## Size and CPU latency, full-size "
        f"{latency['architecture']} ({latency['n_params']:,} parameters, random weights, median of "
        f"{latency['repeats']} runs, measured in one run)\n\n{timing.to_markdown(index=False)}\n"
    )


def write_report(
    metrics_paths: list[str],
    encoder_json: str,
    runs_out: str,
    table_csv: str,
    table_md: str,
    confusion_png: str,
    config_hash: str = "",
) -> None:
    """Table I (per-run CSV, summary CSV and Markdown) and the cross-corpus confusion matrix plot.

    Rows of both CSVs carry the study's ``config_hash``; per-run rows also their version, commit and seed.
    """
    records = [record for path in metrics_paths for record in read_json(path, "metrics file")]
    runs = run_rows(records).assign(config_hash=config_hash)
    summary = table1(runs).assign(
        config_hash=config_hash,
        seeds=distinct_values(runs["seed"]),
        **{c: distinct_values(runs[c]) for c in ("serbench_version", "git_commit")},
    )
    encoder = {**read_json(encoder_json, "encoder description"), "finetuned": any(r.get("finetune") for r in records)}
    write_csv(runs_out, runs)
    write_csv(table_csv, summary)
    write_text(table_md, table1_markdown(summary, encoder))
    plot_confusion(records, confusion_png, encoder)


def write_int8_table(int8_json: str, latency_json: str, out: str) -> None:
    """The 8-bit model table (Markdown) from the int8 and latency measurements."""
    write_text(
        out, int8_markdown(read_json(int8_json, "int8 measurements"), read_json(latency_json, "latency measurements"))
    )
