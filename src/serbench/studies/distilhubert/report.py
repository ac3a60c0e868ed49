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
from serbench.literature import ismail_table1  # noqa: E402
from serbench.overlap import gain_table, overlap_markdown  # noqa: E402
from serbench.protocols import PRODUCTION_FOLD  # noqa: E402
from serbench.provenance import distinct_values  # noqa: E402
from serbench.ssl import RANDOM_NOTE  # noqa: E402
from serbench.ssl.latency import LatencyRecord  # noqa: E402
from serbench.step_files import read_json, read_records  # noqa: E402

SETTINGS = {"base": "corpus only", "extra": "+ extra training corpora", "emobox": "EmoBox folds, corpus only"}
MODELS = {"head": "pooled head (focal loss)", "logreg": "logistic regression on the same pooled states (baseline)"}
SCORES = ("accuracy", "uar", "macro_f1")
UTTERANCE = ["utterance", "speaker", "emotion", "correct"]  # columns of a test utterance in the overlap rows
OVERLAP_KEYS = ["upstream", "model", "dataset"]
METRIC = re.compile(r"(production_validation_|(production_)?cross_(chance_)?)?(accuracy|uar|macro_f1)|f1_.+")


def run_rows(records: list[dict]) -> pd.DataFrame:
    """One row per (upstream, model, dataset, setting, fold, seed): WA, UA, macro-F1, per-class F1, cross-corpus
    scores (with the cross-corpus set's chance UA, 1/classes, and majority-class WA), provenance.

    The production model's row (fold ``production``) has no test scores; its
    scores are ``production_validation_*`` (the 5 % share that chose its epoch)
    and ``production_cross_*``.
    """
    rows = []
    for record in records:
        keys = ("upstream", "model", "dataset", "setting", "fold", "seed", "n_test", "serbench_version", "git_commit")
        row = {k: record[k] for k in keys}
        prefix = "production_" if record["fold"] == PRODUCTION_FOLD else ""
        if prefix:
            row.update({f"production_validation_{k}": record["validation"][k] for k in SCORES})
        else:
            row.update({k: record[k] for k in SCORES} | {f"f1_{c}": v for c, v in record["f1_per_class"].items()})
        if "cross_corpus" in record:
            cross = record["cross_corpus"]
            row.update({"cross_corpus": cross["corpus"], **{f"{prefix}cross_{k}": cross[k] for k in SCORES}})
            counts = np.asarray(cross["confusion"]).sum(axis=1)
            chance = {"uar": 1 / len(counts), "accuracy": counts.max() / counts.sum()}
            row.update({f"{prefix}cross_chance_{k}": v for k, v in chance.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def table1(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over folds and seeds per upstream, model, dataset, setting and metric (long format).

    Columns ``upstream, model, dataset, metric, setting, mean, std, n_runs``; the paper's Table I
    figures (IEMOCAP) are added as ``paper_mean, paper_std`` on IEMOCAP rows.
    """
    metrics = [c for c in runs.columns if METRIC.fullmatch(c)]
    ids = ["upstream", "model", "dataset", "setting"]
    long = runs.melt(id_vars=ids, value_vars=metrics, var_name="metric").dropna(subset=["value"])
    grouped = long.groupby(["upstream", "model", "dataset", "metric", "setting"], sort=False)["value"]
    table = grouped.agg(mean="mean", std=lambda v: v.std(ddof=1) if len(v) > 1 else 0.0, n_runs="size").reset_index()
    paper = ismail_table1().rename(columns={"mean": "paper_mean", "std": "paper_std"}).drop(columns="source")
    paper["dataset"] = "iemocap"
    return table.merge(paper, on=["dataset", "metric", "setting"], how="left")


def table1_markdown(table: pd.DataFrame, encoders: list[dict]) -> str:
    """Table I layout per upstream, dataset and model: metrics as rows, settings side by side as ``mean ± std``,
    the gain in points, paper figures."""
    sections = []
    for (upstream, dataset, model), rows in table.groupby(["upstream", "dataset", "model"], sort=False):
        wide = rows.pivot(index="metric", columns="setting", values=["mean", "std"])
        order = [m for m in rows["metric"].drop_duplicates()]
        lines = []
        for metric in order:
            line = {"metric / class": metric}
            for setting in [s for s in SETTINGS if ("mean", s) in wide.columns]:
                mean, std = wide.loc[metric, ("mean", setting)], wide.loc[metric, ("std", setting)]
                line[SETTINGS[setting]] = "" if pd.isna(mean) else f"{mean:.3f} ± {std:.3f}"
            if {("mean", "base"), ("mean", "extra")} <= set(wide.columns):
                gain = 100 * (wide.loc[metric, ("mean", "extra")] - wide.loc[metric, ("mean", "base")])
                line["gain (points)"] = f"{gain + 0.0:+.1f}"
            paper = rows[(rows.metric == metric) & rows.paper_mean.notna()]
            line["paper (IEMOCAP)"] = " / ".join(f"{r.paper_mean:.3f} ± {r.paper_std:.3f}" for r in paper.itertuples())
            lines.append(line)
        n_runs = int(rows["n_runs"].max())
        sections.append(
            f"## {upstream}, {dataset}: {MODELS.get(model, model)} ({n_runs} runs per setting: folds × seeds)\n\n"
            f"{pd.DataFrame(lines).to_markdown(index=False)}\n"
        )
    header = "# DistilHuBERT study (Ismail, Table I layout)\n\nUpstreams:\n\n" + "".join(
        f"- **{e['upstream']}**: {e['pretrained']} ({e['model_type']}, {e['num_hidden_layers']} layers, "
        f"{e['n_params']:,} parameters), {'fine-tuned with the head' if e.get('finetuned') else 'frozen'}, "
        + (f"**{RANDOM_NOTE}**" if e.get("random_init") else "pretrained weights")
        + ".\n"
        for e in encoders
    )
    return (
        header
        + "\n"
        + "\n".join(sections)
        + "\ncross_* rows: the cross-corpus test corpus, scored by every fold's model, on the study classes it has; "
        "cross_chance_uar is 1/classes, cross_chance_accuracy the majority class's share.\n"
        + "production_* rows: the paper's production model, one per seed, trained on all of the corpus but a "
        "stratified random share (5 % by default) that validates and picks its epoch; production_validation_* "
        "scores that share (as the paper reports it, so it is not a held-out test), production_cross_* the "
        "cross-corpus test corpus.\n"
    )


def speaker_overlap(records: list[dict]) -> pd.DataFrame:
    """Per upstream, model and dataset run in both settings: UA on EmoBox's folds (setting ``emobox``) minus UA on
    the speaker folds (``base``), from the fold records' test utterances (:func:`serbench.overlap.ua_gain`).

    Returns:
        Columns :data:`OVERLAP_KEYS` and :data:`serbench.overlap.GAIN_COLUMNS`; empty without such pairs.
    """
    rows = [
        {k: r[k] for k in ("upstream", "model", "dataset", "setting", "seed")}
        | {"utterance": u, "speaker": s, "emotion": e, "correct": c == "1"}
        for r in records
        if r["setting"] in ("emobox", "base") and r["fold"] != PRODUCTION_FOLD
        for u, s, e, c in zip(r["test_utterances"], r["test_speakers"], r["test_emotions"], r["test_correct"])
    ]
    columns = ["upstream", "model", "dataset", "setting", "seed", *UTTERANCE]
    return gain_table(pd.DataFrame(rows, columns=columns), OVERLAP_KEYS, "setting", "emobox", "base")


def plot_confusion(records: list[dict], out: str | Path, encoders: list[dict]) -> None:
    """Row-normalised cross-corpus confusion matrix of the heads, summed over seeds (and folds), one panel per
    upstream, setting and model: the fold models, and the production model when there is one."""
    by_setting: dict[tuple[str, str], np.ndarray] = {}
    classes: list[str] = []
    for record in records:
        if "cross_corpus" in record and record["model"] == "head":
            models = "production model" if record["fold"] == PRODUCTION_FOLD else "fold models"
            key = (f"{record['upstream']}, {SETTINGS.get(record['setting'], record['setting'])}", models)
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
        ax.set_title(f"{corpus}, {models},\n{setting}", fontsize=10)
    if not by_setting:
        axes[0][0].text(0.5, 0.5, "no cross-corpus test configured", ha="center")
    random = [e["upstream"] for e in encoders if e.get("random_init")]
    if random:
        fig.suptitle(f"random encoder weights: {', '.join(random)}", fontsize=9)
    write_figure(out, fig)


INT8_ROWS = (
    ("float", "float ONNX"),
    ("int8_static", "int8 ONNX, static (whole encoder: Conv + MatMul, calibrated)"),
    ("int8_mixed", "int8 ONNX, mixed (static, float activations in the CNN)"),
    ("int8_dynamic", "int8 ONNX, dynamic (MatMul/Gemm only)"),
    ("int8_dynamic_ffn_float", "int8 ONNX, dynamic, feed-forward down-projections float"),
)
RUNTIMES = (
    ("PyTorch float32", "pytorch_float"),
    ("ONNX Runtime float32", "onnx_float"),
    ("ONNX Runtime int8, static (Conv + MatMul, QDQ, per-channel)", "onnx_int8_static"),
    ("ONNX Runtime int8, mixed (static, float activations in the CNN)", "onnx_int8_mixed"),
    ("ONNX Runtime int8, dynamic (MatMul/Gemm)", "onnx_int8_dynamic"),
    ("ONNX Runtime int8, dynamic, feed-forward down-projections float", "onnx_int8_dynamic_ffn_float"),
)


def int8_markdown(int8: dict, latency: dict, deployed: dict) -> str:
    """One upstream's 8-bit section: sizes (MB), UA and fidelity per scheme, the deployed scheme and why, and CPU
    latency per clip per thread count beside PyTorch and ONNX float."""
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
    measured = LatencyRecord.from_json(latency)
    clip = f"{measured.clip_seconds:.0f} s clip"
    float_s = measured.runtime("onnx_float").median_s
    timing = pd.DataFrame(
        [
            {"runtime": name, "size (MB)": f"{measured.runtime(key).mb:.1f}"}
            | {
                f"ms per {clip}, {threads} thread(s) (× vs ONNX float)": f"{1000 * seconds:.0f} "
                f"({float_s[threads] / seconds:.2f}×)"
                for threads, seconds in measured.runtime(key).median_s.items()
            }
            for name, key in RUNTIMES
        ]
    )
    choice = deployed["int8"]
    rule = {True: "the rule was met", False: "no scheme met the rule: the smallest UA loss", None: "as configured"}
    weights = RANDOM_NOTE if int8.get("random_init") else "pretrained weights"
    return (
        f"## {int8['upstream']} ({int8['pretrained']}, {weights})\n\n### Accuracy and fidelity before and after "
        f"int8 ({len(int8['heads'])} heads, static and mixed schemes calibrated on {int8['calibration_utterances']} "
        f"training utterances)\n\n{sizes.to_markdown(index=False)}\n\nDeployable `model.int8.onnx`: "
        f"**{choice['scheme']}** int8 ({rule[choice['rule_met']]}: UA loss {100 * choice['uar_loss'] + 0.0:.1f} "
        f"points over the test folds, {choice['speedup_vs_onnx_float']:.2f}× ONNX float at 1 thread in the fastest "
        "of the interleaved rounds), "
        f"{deployed['int8_mb']:.1f} MB beside the float model's {deployed['float_mb']:.1f} MB, of `{deployed['head']}`."
        f"\n\n### Size and CPU latency (upstream + head, {latency['n_params']:,} parameters, median of "
        f"{latency['repeats']} interleaved rounds, each running every runtime once, in one run)\n\n"
        f"{timing.to_markdown(index=False)}\n"
    )


def write_report(
    metrics_paths: list[str],
    encoder_jsons: list[str],
    runs_out: str,
    table_csv: str,
    table_md: str,
    confusion_png: str,
    config_hash: str = "",
) -> None:
    """Table I (per-run CSV, summary CSV and Markdown) and the cross-corpus confusion matrix plot.

    Rows of both CSVs carry the study's ``config_hash``; per-run rows also their version, commit and seed.
    """
    records = [record for path in metrics_paths for record in read_records(path)]
    runs = run_rows(records).assign(config_hash=config_hash)
    summary = table1(runs).assign(
        config_hash=config_hash,
        seeds=distinct_values(runs["seed"]),
        **{c: distinct_values(runs[c]) for c in ("serbench_version", "git_commit")},
    )
    finetuned = any(r.get("finetune") for r in records)
    encoders = [{**read_json(path, "encoder description"), "finetuned": finetuned} for path in encoder_jsons]
    write_csv(runs_out, runs)
    write_csv(table_csv, summary)
    title = "Speaker overlap: UA on EmoBox's folds minus UA on speaker folds"
    overlap = overlap_markdown(speaker_overlap(records), OVERLAP_KEYS, title)
    write_text(table_md, table1_markdown(summary, encoders) + overlap)
    plot_confusion(records, confusion_png, encoders)


def write_int8_table(int8_jsons: list[str], latency_jsons: list[str], deploy_jsons: list[str], out: str) -> None:
    """The 8-bit model table (Markdown), a section per upstream, from its int8, latency and deployment records."""
    sections = [
        int8_markdown(read_json(i, "int8 measurements"), read_json(la, "latency measurements"), read_json(d, "deploy"))
        for i, la, d in zip(int8_jsons, latency_jsons, deploy_jsons)
    ]
    write_text(out, "# 8-bit models\n\n" + "\n".join(sections))
