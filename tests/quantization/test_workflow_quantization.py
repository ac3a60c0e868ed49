"""The quantization study run by Snakemake on the real EmoDB copy (short training): its tables, its validation
hygiene, what a changed config reruns, and a damaged cell rebuilt.

Needs SERBENCH_DATA, a folder holding an EmoDB copy in its official layout
(.ci/run sets it to ../shared/data); skipped with that reason otherwise. The run itself is conftest's
``quantization_run``, shared with ``test_workflow_report.py`` and ``test_workflow_resume.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import numpy as np
import pandas as pd
import pytest

import serbench
from conftest import EMODB_E2E, REPO, quantization_config, run_to_end, scheduled_rules
from serbench.dataset import CorpusFiles, load_split_data
from serbench.lowbit.quantizers import fake_quantize_model
from serbench.metrics import weighted_accuracy
from serbench.studies.quantization.models import predict
from serbench.studies.quantization.packing import load_packed

pytestmark = EMODB_E2E


def test_table_has_every_family_protocol_quantizer_and_variant(quantization_run):
    summary = pd.read_csv(quantization_run / "results/tables/quantization.csv", keep_default_na=False, na_values=[""])
    mlp_variants = ["fixed8", "fixed2", "fixed1", "adaptive", "sensitivity"]
    # per protocol: fp32, then per quantizer five variants; the MLP's three QAT rows and their control fp32+ft
    assert summary.groupby(["model", "protocol"]).size().to_dict() == {
        (m, p): 1 + 2 * 5 * (m != "svm") + 4 * (m == "mlp")
        for m in ("mlp", "lstm", "svm")
        for p in ("random", "speaker_independent")
    }
    assert set(summary["features"]) == {"mfcc_chroma_mel"}
    assert set(summary["dataset"]) == {"emodb"} and set(summary["quantizer"]) == {"none", "uniform", "ternary"}
    si = summary[summary.protocol == "speaker_independent"]
    assert (si["n_runs"] == 4).all() and (si["n_folds"] == 2).all() and si["paper_accuracy"].isna().all()
    assert set(summary.loc[summary.model == "lstm", "n_params"]) == {159_623}
    table = summary[(summary.model == "mlp") & (summary.protocol == "random")]
    assert table["variant"].tolist() == [
        "fp32",
        "fp32+ft",
        *mlp_variants,
        *mlp_variants,
        "fixed2+qat",
        "adaptive+qat",
        "sensitivity+qat",
    ]
    assert (table["n_seeds"] == 2).all() and (table["n_speakers_test"] == 10).all()
    assert table["n_test"].between(55, 108).all()  # distinct: 10 % of 535 per seed, a new draw per seed
    assert (si["n_test"] == 535).all()  # every speaker tests once per seed
    assert table["n_params"].eq(211_207).all()
    np.testing.assert_allclose(table["paper_count_kb"], table["n_params"] * table["avg_bits"] / 8 / 1000)
    uniform = table[table.quantizer.isin(["none", "uniform"])].set_index("variant")
    assert uniform.loc["fp32", "size_kb"] == pytest.approx(4 * 211_207 / 1000)
    # codes plus one float32 scale and offset per tensor (8 tensors) at fixed widths
    assert uniform.loc["fixed2", "size_kb"] == pytest.approx((211_207 * 2 / 8 + 8 * 8) / 1000, abs=0.002)
    assert uniform.loc["fp32", "file_bytes"] > 4 * 211_207 > uniform.loc["fixed8", "file_bytes"]
    assert uniform.loc["fixed2", "file_bytes"] > uniform.loc["fixed1", "file_bytes"] >= 211_207 / 8
    assert uniform.loc["sensitivity", "avg_bits"] <= uniform.loc["adaptive", "avg_bits"] + 1e-9  # equal b̄ budget
    quantized = table[table.variant != "fp32"]
    bounds = ["delta_vs_fp32_ci95_seeds_units_low", "delta_vs_fp32_ci95_seeds_units_high"]
    assert quantized[["delta_vs_fp32", *bounds]].notna().all().all()
    assert (quantized[bounds[0]] <= quantized["delta_vs_fp32"] + 1e-12).all()
    assert (quantized["delta_vs_fp32"] <= quantized[bounds[1]] + 1e-12).all()
    assert table["delta_vs_ft"].notna().tolist() == table["variant"].str.endswith("+qat").tolist()
    assert uniform.loc["fp32+ft", "avg_bits"] == 32 and uniform.loc["fp32+ft", "file_bytes"] > 4 * 211_207
    assert table["accuracy"].between(0, 1).all() and table.iloc[0]["accuracy"] > 1 / 7  # beyond chance
    assert table.loc[table.variant.isin(["fp32", "fixed2", "adaptive"]), "paper_accuracy"].notna().all()
    markdown = (quantization_run / "results/tables/quantization.md").read_text()
    assert "± " in markdown and re.search(
        r"\| emodb +\| mfcc_chroma_mel +\| mlp +\| random +\| uniform +\| sensitivity\+qat − adaptive\+qat", markdown
    )
    for plot in ("pareto_emodb_random", "accuracy_vs_bits_emodb_random", "accuracy_vs_bits_emodb_speaker_independent"):
        assert (quantization_run / f"results/plots/{plot}.png").read_bytes()[:4] == b"\x89PNG"
    literature = (quantization_run / "results/tables/literature.md").read_text()
    assert "Logistic Model Tree" in literature and "serbench mlp adaptive (uniform)" in literature


def test_bit_search_read_its_own_validation_subset_only(quantization_run):
    cell = quantization_run / "results/quantization/quantized/mfcc_chroma_mel/emodb/random/mlp"
    records = json.loads((cell / "metrics.json").read_text())
    metrics = next(r for r in records if r["variant"] == "adaptive" and r["quantizer"] == "ternary" and r["seed"] == 1)
    assert metrics["fold"] == "0" and (cell / "packed/fold0/seed1/ternary/adaptive.sbq").is_file()
    split = pd.read_csv(quantization_run / "results/quantization/splits/emodb/random.csv")
    split = split[split.seed == 1]
    subset = {name: set(split.loc[split.subset == name, "utterance_id"]) for name in ("validation", "search", "test")}
    assert not subset["validation"] & subset["search"] and not subset["search"] & set(metrics["test_utterances"])
    assert metrics["search"]["subset"] == "search"
    assert metrics["search"]["n_utterances"] == len(subset["search"]) == metrics["n_search"]
    assert metrics["n_validation"] == len(subset["validation"])  # the other half chose the epoch
    # every score the search compared is reproduced from the search subset alone
    model, _ = load_packed(
        quantization_run / "results/quantization/models/mfcc_chroma_mel/emodb/random/mlp/fold0/seed1/fp32.sbq"
    )
    features = quantization_run / "results/features/mfcc_chroma_mel/emodb/utterance.npz"
    files = CorpusFiles(quantization_run / "results/manifests/emodb.csv", features)
    split_path = quantization_run / "results/quantization/splits/emodb/random.csv"
    search = load_split_data(split_path, "0", {"emodb": files}, seed=1).subsets["search"]
    assert metrics["search"]["baseline_score"] == weighted_accuracy(search.labels, predict(model, search.features))
    chosen: dict[str, int] = {}
    for trial in metrics["search"]["trials"]:
        bits = {**chosen, trial["layer"]: trial["bits"]}
        quantized = fake_quantize_model(model, bits, "ternary")
        assert trial["score"] == weighted_accuracy(search.labels, predict(quantized, search.features))
        if trial["accepted"]:
            chosen[trial["layer"]] = trial["bits"]
    assert chosen == {layer: b for layer, b in metrics["bits"].items()}


def test_second_run_schedules_nothing(quantization_run):
    output = run_to_end(quantization_run, quantization_run / "config.yaml", "all", "--dry-run")
    assert "Nothing to be done" in output
    assert scheduled_rules(output) == {}


# a plot job per cell, a page per table (quantization, literature, allocators, deployment), the deployment view
REPORT = {
    "quantization_table": 1,
    "quantization_plots": 2,
    "quantization_allocator_report": 1,
    "table_page": 4,
    "deployment": 1,
    "all": 1,
}


def test_changing_a_quantization_key_reruns_only_quantization_and_report(quantization_run):
    changed = quantization_config(quantization_run / "changed.yaml", quantization_run / "data", t_margin=0.2)
    output = run_to_end(quantization_run, changed, "all", "--dry-run")
    # 2 models × 2 protocols, every fold in one job; the curves read the adaptive settings too; not the SVM
    assert scheduled_rules(output) == {"quantization_quantize": 4, "quantization_allocators": 4, **REPORT}


def test_changing_a_training_key_keeps_features_and_splits(quantization_run):
    changed = quantization_config(quantization_run / "changed.yaml", quantization_run / "data", max_epochs=9)
    output = run_to_end(quantization_run, changed, "all", "--dry-run")
    assert scheduled_rules(output) == {
        "quantization_train": 4,
        "quantization_quantize": 4,
        "quantization_allocators": 4,
        **REPORT,
    }


def test_adding_a_corpus_builds_that_corpus_and_the_report_only(quantization_run):
    changed = quantization_config(
        quantization_run / "changed.yaml", quantization_run / "data", corpora=("emodb", "tess")
    )
    output = run_to_end(quantization_run, changed, "all", "--dry-run")
    # TESS only: its manifest, features, 2 splits (random, speaker folds), 2 models × 2 protocols, 2 SVMs; the report
    assert scheduled_rules(output) == {
        "manifest": 1,
        "quantization_features": 1,
        "quantization_split": 2,
        "quantization_train": 4,
        "quantization_quantize": 4,
        "quantization_allocators": 4,
        "quantization_svm": 2,
        **REPORT,
        "quantization_plots": 4,
    }
    before_report = output.split("rule quantization_table")[0]
    assert "corpus=emodb" not in before_report and "dataset=emodb" not in before_report


def test_deployment_lists_every_speaker_independent_model_with_bytes_and_latency_and_marks_a_front(quantization_run):
    summary = pd.read_csv(quantization_run / "results/tables/quantization.csv")
    table = pd.read_csv(quantization_run / "results/tables/deployment.csv")
    quoted, deployment = table[table["study"] == "emobox (quoted)"], table[table["study"] != "emobox (quoted)"]
    assert set(quoted["task"]) == {"emodb, EmoBox folds, 7 classes"} and not quoted["pareto"].any()
    si = summary[summary.protocol == "speaker_independent"]
    assert len(deployment) == len(si) and set(deployment["study"]) == {"quantization"}
    assert set(deployment["task"]) == {"emodb, 2 speaker folds, 7 classes"}
    assert sorted(deployment["bytes"]) == sorted(si["file_bytes"])
    timed = deployment[deployment.model != "svm"]
    assert timed["latency_ms"].gt(0).all() and deployment.loc[deployment.model == "svm", "latency_ms"].isna().all()
    for _, rows in timed.groupby("model"):  # every packed variant runs as its family's float graph
        assert rows["latency_ms"].nunique() == 1
    front = deployment[deployment["pareto"]]
    assert 1 <= len(front) < len(deployment) and deployment["ua"].max() in set(front["ua"])
    assert deployment["bytes"].min() in set(front["bytes"])
    assert (quantization_run / "results/plots/deployment_pareto.png").stat().st_size > 10_000
    assert "Which model to deploy" in (quantization_run / "results/tables/deployment.md").read_text()


def test_every_row_names_its_config_hash_version_commit_and_seed(quantization_run):
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    runs = pd.read_csv(quantization_run / "results/tables/quantization_runs.csv", dtype=str)
    summary = pd.read_csv(quantization_run / "results/tables/quantization.csv", dtype=str)
    for rows in (runs, summary):
        assert rows["config_hash"].str.fullmatch(r"[0-9a-f]{12}").all() and rows["config_hash"].nunique() == 1
        assert (rows["serbench_version"] == serbench.__version__).all()
        assert rows["git_commit"].str.startswith(head).all() if head else rows["git_commit"].isna().all()
    assert set(runs["seed"]) == {"0", "1"} and set(summary["seeds"]) == {"0 1"}
    assert runs["config_hash"][0] == summary["config_hash"][0]


def test_a_damaged_model_inside_a_cell_is_noticed_by_a_plain_rerun_and_rebuilt(quantization_run_copy):
    """Snakemake sees a cell as one folder; its checksum index makes a truncated model file inside it visible."""
    work = quantization_run_copy
    before = pd.read_csv(work / "results/tables/quantization_runs.csv")
    model = work / "results/quantization/models/mfcc_chroma_mel/emodb/speaker_independent/mlp/fold1/seed1/fp32.sbq"
    packed = sorted((work / "results/quantization/quantized/mfcc_chroma_mel/emodb/random/lstm/packed").rglob("*.sbq"))[
        0
    ]
    for path in (model, packed):
        os.truncate(path, 1000)
    planned = scheduled_rules(run_to_end(work, work / "config.yaml", "all", "--dry-run"))
    # the damaged training cell, its quantization and curves; the damaged packed cell's quantization and its curves,
    # which read the quantize step's records
    assert planned == {"quantization_train": 1, "quantization_quantize": 2, "quantization_allocators": 2, **REPORT}
    run_to_end(work, work / "config.yaml", "all")
    assert load_packed(model) and load_packed(packed)
    pd.testing.assert_frame_equal(pd.read_csv(work / "results/tables/quantization_runs.csv"), before)
    assert scheduled_rules(run_to_end(work, work / "config.yaml", "all", "--dry-run")) == {}
