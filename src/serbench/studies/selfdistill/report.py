"""Tables of the self-distillation study: Ren et al.'s Table 1 and Table 2 layouts, int8 exits, latency."""

from __future__ import annotations

import pandas as pd

from serbench.atomic import write_csv, write_text
from serbench.ssl import RANDOM_NOTE
from serbench.ssl.latency import LatencyRecord, int8_runtime
from serbench.step_files import read_json, read_records


def _cell(values: pd.Series) -> str:
    return (
        ""
        if values.empty
        else f"{100 * values.mean():.1f} ± {100 * (values.std(ddof=1) if len(values) > 1 else 0):.1f}"
    )


def exit_rows(records: list[dict]) -> pd.DataFrame:
    """Long table: one row per run, subset and exit with its UAR, WA and macro-F1, and the run's provenance."""
    rows = []
    for record in records:
        for subset, exits in record["scores"].items():
            for exit_name, scores in exits.items():
                rows.append(
                    {
                        "upstream": record["upstream"],
                        "variant": record["variant"],
                        "fold": record["fold"],
                        "seed": record["seed"],
                        "subset": subset,
                        "exit": exit_name,
                        **scores,
                        "serbench_version": record["serbench_version"],
                        "git_commit": record["git_commit"],
                    }
                )
    return pd.DataFrame(rows)


def table1_markdown(runs: pd.DataFrame, exit_layers: list[int]) -> str:
    """Ren et al. Table 1 layout: block × similarity rows; UAR (%) of deepest, each exit and fusion, devel and test."""
    columns = [
        ("teacher", "Deepest"),
        *((str(a), f"Layer {a}") for a in exit_layers),
        ("fusion_margin", "Fusion"),
        ("fusion_mean", "Fusion (mean)"),
    ]
    lines = []
    for variant, rows in runs[~runs["variant"].str.startswith("baseline")].groupby("variant", sort=True):
        block, _, similarity = variant.partition("-")
        line = {"NN": block, "Loss": similarity}
        for exit_name, title in columns:
            for subset, label in (("validation", "Devel"), ("test", "Test")):
                line[f"{title} {label}"] = _cell(rows[(rows.exit == exit_name) & (rows.subset == subset)]["uar"])
        lines.append(line)
    return (
        "## Table 1 layout: UAR (%) of multi-exit self-distillation, mean ± std over folds and seeds\n\n"
        "Fusion: per utterance the exit with the largest top-1 minus top-2 logit margin (the authors' code); "
        "Fusion (mean): the exits' mean probability. Devel: the model trained on train only (last epoch, or the "
        "best with `selection: best_epoch`); Test: with `selection: retrain`, a model trained as long on train + "
        "devel.\n\n"
        + (pd.DataFrame(lines).to_markdown(index=False) if lines else "(no self-distillation variant configured)")
        + "\n"
    )


def table2_markdown(runs: pd.DataFrame, latency: dict, exit_layers: list[int]) -> str:
    """Ren et al. Table 2 layout: each depth's self-distilled exit beside the fine-tuned-only baseline of that depth."""
    test = runs[runs.subset == "test"]
    distilled = test[~test["variant"].str.startswith("baseline")]
    lines = []
    for name, depth in [*((str(a), a) for a in exit_layers), ("teacher", latency["exits"]["teacher"]["depth"])]:
        baseline = test[(test["variant"] == f"baseline-{depth}") & (test.exit == "teacher")]["uar"]
        line = {
            "depth (transformer layers)": depth,
            "parameters": f"{latency['exits'][name]['n_params']:,}",
            "fine-tuned only": _cell(baseline),
        }
        for variant, rows in distilled.groupby("variant", sort=True):
            line[f"self-distilled {variant}"] = _cell(rows[rows.exit == name]["uar"])
        lines.append(line)
    return (
        "## Table 2 layout: test UAR (%) per depth, self-distilled exits beside fine-tuned-only models\n\n"
        + pd.DataFrame(lines).to_markdown(index=False)
        + "\n"
    )


def deployment_markdown(int8: list[dict], latency: dict) -> str:
    """Per exit (one run): parameters it runs, float and int8 ONNX bytes, CPU latency per runtime and thread count
    beside the exit's compute bound; and the study model's float/int8 ONNX size and UAR."""
    lines = []
    ms = f"ms per {latency['clip_seconds']:.0f} s clip"
    quantized = int8_runtime(latency["int8_scheme"])
    for name, record in latency["exits"].items():
        timing = LatencyRecord.from_json(record)
        line = {
            "exit": name,
            "depth": record["depth"],
            "parameters": f"{timing.n_params:,}",
            "float ONNX (MB)": f"{timing.runtime('onnx_float').mb:.1f}",
            "int8 ONNX (MB)": f"{timing.runtime(quantized).mb:.1f}",
        }
        for threads, bound_s in record["compute_bound_s"].items():
            for runtime, label in (
                ("pytorch_float", "PyTorch"),
                ("onnx_float", "ONNX float"),
                (quantized, "ONNX int8"),
            ):
                line[f"{label}, {threads} thr ({ms})"] = f"{1000 * timing.runtime(runtime).median_s[int(threads)]:.0f}"
            bound = timing.runtime("pytorch_float").median_s[int(threads)] / bound_s
            line[f"PyTorch / compute bound, {threads} thr"] = f"{bound:.2f}"
        for record in int8[:1]:
            row = record["exits"].get(name, {})
            line.update(
                {
                    "study float (MB)": f"{row.get('float_mb', float('nan')):.2f}",
                    "study int8 (MB)": f"{row.get('int8_mb', float('nan')):.2f}",
                    "UAR float": f"{row.get('uar_float', float('nan')):.3f}",
                    "UAR int8": f"{row.get('uar_int8', float('nan')):.3f}",
                }
            )
        lines.append(line)
    return (
        f"## Exits for deployment (median of {latency['exits']['teacher']['repeats']} runs, one run); int8 = ONNX "
        f"Runtime {latency['int8_scheme']} quantization (the DistilHuBERT study's schemes); compute bound = the "
        f"front-end and the "
        f"exit's transformer layers timed alone\n\n"
        f"{pd.DataFrame(lines).to_markdown(index=False)}\n"
    )


def report_markdown(records: list[dict], int8: list[dict], latencies: list[dict], encoders: list[dict]) -> str:
    """The study's whole Markdown report: per upstream, Tables 1 and 2 and the exits for deployment."""
    runs = exit_rows(records)
    sections = ["# Self-distillation study (Ren et al. 2023)\n"]
    for encoder, latency in zip(encoders, latencies):
        name = encoder["upstream"]
        exit_layers = [int(e) for e in latency["exits"] if e != "teacher"]
        trained = {r.get("finetune") for r in records if r["upstream"] == name}
        sections.append(
            f"# {name}: {encoder['pretrained']} ({encoder['model_type']}, {encoder['num_hidden_layers']} layers, "
            f"{encoder['n_params']:,} parameters), "
            + (
                "encoder fine-tuned with the exits"
                if trained == {True}
                else "encoder frozen, heads trained on its states"
            )
            + ", "
            + (f"**{RANDOM_NOTE}**" if encoder.get("random_init") else "pretrained weights")
            + "\n"
        )
        own = runs[runs["upstream"] == name]
        sections += [
            table1_markdown(own, exit_layers),
            table2_markdown(own, latency, exit_layers),
            deployment_markdown([i for i in int8 if i["upstream"] == name], latency),
        ]
    return "\n".join(sections)


def write_report(
    metrics: list[str],
    int8: list[str],
    latencies: list[str],
    encoders: list[str],
    runs_out: str,
    md_out: str,
    config_hash: str = "",
) -> None:
    """Per-exit runs (CSV, each row with the study's ``config_hash``, version, commit, seed) and the Markdown tables."""
    records = [record for path in metrics for record in read_records(path)]
    write_csv(runs_out, exit_rows(records).assign(config_hash=config_hash))
    write_text(
        md_out,
        report_markdown(
            records,
            [read_json(p, "int8 measurements") for p in int8],
            [read_json(p, "latency measurements") for p in latencies],
            [read_json(p, "encoder description") for p in encoders],
        ),
    )
