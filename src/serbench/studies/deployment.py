"""Which model to deploy: every trained model and variant of the three studies in one table, with UA, bytes on disk,
parameters and CPU latency per clip at one thread, and the Pareto front of each task marked.

A task is a corpus, its speaker folds and its class set: UA is comparable only within one (EmoDB's seven emotions in
the quantization study, four in the DistilHuBERT study). A row is on its task's front when no other row of the task
has at least its UA, at most its bytes and at most its latency, one of them strictly (a row without a latency is
compared as infinitely slow). Latency: the quantization study's feature extraction plus classifier (a packed model
runs unpacked as float32, so its family's latency), with the classifier's share beside (``classifier_ms``: feature
extraction, the same for every family of a feature set, is most of it); the SSL studies' ONNX Runtime models on
waveforms.

A row's ``model_file`` is what ``serbench predict --model results/tables/deployment.csv:<row>`` serves (``row``
counts the CSV's rows from 1; a self-distillation row also names its ``exit``): one run's packed file for the
quantization study, the deployed model (``model.onnx``, or ``model.int8.onnx`` in the chosen scheme) for the
DistilHuBERT study, the int8 graph of every exit for the self-distillation study; empty where the study keeps no
servable file (the SVM, the other int8 schemes, float exits).

EmoBox's published upstreams (Ma et al. 2024, Table 4) stand beside each corpus as quoted rows (study ``emobox
(quoted)``, from ``serbench.emobox.references``): UA on EmoBox's folds with every emotion of the corpus (EmoDB's and
TESS's folds share speakers between training and test), bytes from the upstream's parameter count at float32, no
latency. They are references, never on a front.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from serbench.atomic import write_csv, write_figure, write_text
from serbench.emobox.references import REFERENCE_STUDY, reference_rows
from serbench.settings.names import ExitVariant
from serbench.ssl.latency import LatencyRecord
from serbench.ssl.onnx_export import INT8_KINDS
from serbench.step_files import read_json
from serbench.studies.deployment_figure import NO_ROWS, deployment_figure

COLUMNS = [
    "study", "task", "source", "model", "variant", "runtime", "weights", "ua", "ua_std", "n_runs", "bytes",
    "n_params", "latency_ms", "classifier_ms", "pareto", "model_file", "exit",
]  # fmt: skip


def task_name(corpus: str, folds: int, classes: int) -> str:
    """The task a model is scored on: rows of one task are comparable.

    >>> task_name("emodb", 10, 7)
    'emodb, 10 speaker folds, 7 classes'
    """
    return f"{corpus}, {folds} speaker folds, {classes} classes"


def at_fewest_threads(seconds: dict[str, float]) -> float:
    """The time measured at the fewest threads, of a ``{threads: seconds}`` record (keys as JSON writes them).

    >>> at_fewest_threads({"2": 0.5, "1": 0.9})
    0.9
    """
    return seconds[min(seconds, key=int)]


def quantization_rows(table_csv: str | Path, latency_jsons: list[str | Path]) -> pd.DataFrame:
    """Rows of ``quantization.csv`` under the speaker-independent protocol, each family's latency at the fewest
    threads measured (``latency/<features>.json`` of :func:`serbench.studies.quantization.latency.
    feature_model_latency`); the SVM baseline, a scikit-learn pickle that is not timed, has none."""
    table = pd.read_csv(table_csv)
    table = table[table["protocol"] == "speaker_independent"]
    latency = {record["features"]: record for record in map(read_json, latency_jsons)}
    return pd.DataFrame(
        {
            "study": "quantization",
            "task": [
                task_name(d, f, len(c.split())) for d, f, c in zip(table["dataset"], table["n_folds"], table["classes"])
            ],
            "source": table["features"],
            "model": table["model"],
            "variant": [f"{v} ({q})" if q != "none" else v for v, q in zip(table["variant"], table["quantizer"])],
            "runtime": ["scikit-learn" if m == "svm" else "PyTorch float32, unpacked" for m in table["model"]],
            "weights": "trained",
            "ua": table["uar"],
            "ua_std": table["uar_std"],
            "n_runs": table["n_runs"],
            "bytes": table["file_bytes"],
            "n_params": table["n_params"],
            "model_file": table.get("model_file", np.nan),
            **{
                column: [
                    1000 * at_fewest_threads(latency[f]["models"][m][key]) if m in latency[f]["models"] else np.nan
                    for f, m in zip(table["features"], table["model"])
                ]
                for column, key in (("latency_ms", "latency_s"), ("classifier_ms", "classifier_s"))
            },
        }
    )


def distilhubert_rows(
    int8_json: str | Path, latency_json: str | Path, deploy_json: str | Path, corpus: str
) -> pd.DataFrame:
    """ONNX float and every int8 scheme of one upstream + head: UA over the test folds (``int8.json``), bytes and
    1-thread latency of the exported model (``latency.json``)."""
    int8, latency, deploy = read_json(int8_json), read_json(latency_json), read_json(deploy_json)
    timing = LatencyRecord.from_json(latency)
    heads = pd.DataFrame(int8["heads"])
    rows, files = [], deploy.get("files", {})
    deployed = {"float": files.get("float"), f"int8_{deploy['int8']['scheme']}": files.get("int8")}
    for kind in ("float", *(f"int8_{k}" for k in INT8_KINDS)):
        runtime = "onnx_float" if kind == "float" else f"onnx_{kind}"
        if f"uar_{kind}" not in heads or runtime not in timing.runtimes:
            continue
        measured = timing.runtime(runtime)
        rows.append(
            {
                "study": "distilhubert",
                "task": task_name(corpus, heads["fold"].nunique(), len(deploy["classes"])),
                "source": latency["upstream"],
                "model": "upstream + head",
                "variant": kind,
                "runtime": f"ONNX Runtime {kind.replace('_', ' ')}",
                "weights": "random" if latency["random_init"] else "pretrained",
                "ua": heads[f"uar_{kind}"].mean(),
                "ua_std": heads[f"uar_{kind}"].std(ddof=1) if len(heads) > 1 else np.nan,
                "n_runs": len(heads),
                "bytes": round(measured.mb * 1e6),
                "n_params": timing.n_params,
                "latency_ms": 1000 * measured.median_s[timing.fewest_threads],
                "model_file": deployed.get(kind),
            }
        )
    return pd.DataFrame(rows)


def selfdistill_rows(
    runs_csv: str | Path, metrics_json: str | Path, int8_jsons: list[str | Path], latency_json: str | Path, corpus: str
) -> pd.DataFrame:
    """Each exit and the teacher of every self-distillation variant of one upstream, float (UA over test folds and
    seeds) and int8 (UA of fold 0, seed 0, as the int8 step scores it); latency where the variant's block is the
    one timed (``latency.json``)."""
    latency = read_json(latency_json)
    exits = {name: LatencyRecord.from_json(record) for name, record in latency["exits"].items()}
    upstream = latency["upstream"]
    classes = len(read_json(metrics_json)[0]["classes"])
    runs = pd.read_csv(runs_csv, dtype={"exit": str})
    runs = runs[(runs["upstream"] == upstream) & (runs["subset"] == "test")]
    rows = []
    for path in int8_jsons:
        record = read_json(path)
        variant = Path(path).stem  # int8/<variant>.json
        scores = runs[runs["variant"] == variant]
        timed = ExitVariant.parse(variant).block == latency["block"]
        for exit_name, exit_record in record["exits"].items():
            ua = scores.loc[scores["exit"] == exit_name, "uar"]
            for kind, size in (("float", "float_mb"), (f"int8_{record['int8_scheme']}", "int8_mb")):
                runtime = "onnx_float" if kind == "float" else f"onnx_{kind}"
                exit_timing = exits.get(exit_name) if timed else None
                seconds = exit_timing.runtimes.get(runtime) if exit_timing else None
                rows.append(
                    {
                        "study": "selfdistill",
                        "task": task_name(corpus, scores["fold"].nunique(), classes),
                        "source": upstream,
                        "model": f"{variant} exit {exit_name}",
                        "variant": kind,
                        "runtime": f"ONNX Runtime {kind.replace('_', ' ')}",
                        "weights": "random" if latency["random_init"] else "pretrained",
                        "ua": ua.mean() if kind == "float" else exit_record["uar_int8"],
                        "ua_std": ua.std(ddof=1) if kind == "float" and len(ua) > 1 else np.nan,
                        "n_runs": len(ua) if kind == "float" else 1,
                        "bytes": round(exit_record[size] * 1e6),
                        "n_params": exit_record["n_params"],
                        "latency_ms": 1000 * seconds.median_s[exit_timing.fewest_threads] if seconds else np.nan,
                        "model_file": record.get("file") if kind != "float" else None,
                        "exit": exit_name,
                    }
                )
    return pd.DataFrame(rows)


def pareto_flags(rows: pd.DataFrame) -> pd.Series:
    """True where no row of the same task is at least as good on UA, bytes and latency and better on one.

    >>> rows = pd.DataFrame({"task": "t", "ua": [0.5, 0.6, 0.4], "bytes": [10, 20, 30], "latency_ms": [1, 1, 1]})
    >>> pareto_flags(rows).tolist()
    [True, True, False]
    """
    latency = rows["latency_ms"].fillna(np.inf)
    flags = pd.Series(False, index=rows.index)
    for _, group in rows.groupby("task"):
        for i in group.index:
            no_worse = (group["ua"] >= rows.at[i, "ua"]) & (group["bytes"] <= rows.at[i, "bytes"])
            no_worse &= latency[group.index] <= latency[i]
            better = (group["ua"] > rows.at[i, "ua"]) | (group["bytes"] < rows.at[i, "bytes"])
            better |= latency[group.index] < latency[i]
            flags[i] = not (no_worse & better).any()
    return flags


def deployment_table(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The rows of every study and EmoBox's quoted rows for their corpora, the front marked, sorted by task and UA
    (best first); no rows when no study scored a model under a speaker-independent protocol."""
    frames = [part for part in parts if len(part)]
    corpora = sorted({task.split(",")[0] for frame in frames for task in frame["task"]})
    frames += [references] if len(references := reference_rows(corpora)) else []
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    rows["pareto"] = pareto_flags(rows) & (rows["study"] != REFERENCE_STUDY)  # a quoted mark is no candidate
    return rows.sort_values(["task", "ua"], ascending=[True, False], ignore_index=True).reindex(columns=COLUMNS)


def front_markdown(table: pd.DataFrame) -> str:
    """Each task's front as a Markdown table, best UA first: what to deploy at each size and speed."""
    parts = [
        "# Which model to deploy\n",
        *(p.replace("\n", " ").replace("``", "`") + "\n" for p in __doc__.split("\n\n")[1:4]),
    ]
    if table.empty:
        parts.append(NO_ROWS[0].upper() + NO_ROWS[1:] + ".\n")
    for task, rows in table[table["pareto"]].groupby("task"):
        shown = rows.assign(
            row=rows.index + 1,
            ua=[
                f"{100 * u:.1f} ± {100 * s:.1f}" if s == s else f"{100 * u:.1f}"
                for u, s in zip(rows["ua"], rows["ua_std"])
            ],
            kb=(rows["bytes"] / 1000).round(1),
            latency_ms=rows["latency_ms"].round(1),
            classifier_ms=rows["classifier_ms"].round(2),
        )
        columns = {"row": "row", "study": "study", "source": "features / upstream", "model": "model",
                   "variant": "variant", "weights": "weights", "ua": "UA %", "kb": "KB on disk",
                   "n_params": "parameters", "latency_ms": "ms per clip, 1 thread",
                   "classifier_ms": "of which classifier ms"}  # fmt: skip
        parts += [f"## {task}\n", shown[list(columns)].rename(columns=columns).to_markdown(index=False) + "\n"]
    return "\n".join(parts)


def write_deployment(table: pd.DataFrame, csv_out: str | Path, md_out: str | Path, plot_out: str | Path) -> None:
    """``deployment.csv``, the fronts as Markdown and the plot, each written whole or not at all. ``model_file`` is
    written relative to the CSV's folder (:func:`serbench.predict.deployment_row` reads it so), so the results
    folder can move."""
    files = table["model_file"]
    relative = [os.path.relpath(f, Path(csv_out).parent) if isinstance(f, str) else f for f in files]
    write_csv(csv_out, table.assign(model_file=relative))
    write_text(md_out, front_markdown(table))
    write_figure(plot_out, deployment_figure(table))
