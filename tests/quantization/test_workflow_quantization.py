"""The quantization study run by Snakemake on the real EmoDB copy (short training).

Needs SERBENCH_DATA, a folder holding an EmoDB copy in its official layout
(.ci/run sets it to ../shared/data); skipped with that reason otherwise.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import serbench
from conftest import checked_in_config, run_workflow, workflow_command
from serbench.dataset import CorpusFiles, load_split_data
from serbench.lowbit.quantizers import fake_quantize_model
from serbench.metrics import weighted_accuracy
from serbench.studies.quantization.models import predict
from serbench.studies.quantization.packing import load_packed

REPO = Path(__file__).resolve().parents[2]
DATA = os.environ.get("SERBENCH_DATA")
EMODB = str(Path(DATA, "emodb")) if DATA else None  # the study's corpus; TESS is added by one test
CHROMIUM = shutil.which("chromium")
BROWSER_REQUIRED = os.environ.get("SERBENCH_BROWSER") == "required"  # .ci/run: a missing chromium fails the test

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not EMODB, reason="SERBENCH_DATA is unset: point it at a folder holding emodb/ (e.g. ../shared/data)"
    ),
]


def snakemake(work: Path, configfile: Path, *extra: str) -> str:
    """``conftest.run_workflow`` on 2 cores, which must succeed; its output."""
    done = run_workflow(work, "--cores", "2", *extra, configfile=configfile, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def scheduled_rules(output: str) -> dict[str, int]:
    """Rule name -> number of jobs in a dry run's output."""
    counts: dict[str, int] = {}
    for name in re.findall(r"^(?:local)?rule (\w+):", output, flags=re.MULTILINE):
        counts[name] = counts.get(name, 0) + 1
    return counts


def write_config(
    path: Path, data_root: Path, t_margin: float = 0.05, max_epochs: int = 8, corpora: tuple[str, ...] = ("emodb",)
) -> Path:
    """The checked-in ``.test/quantization.yaml`` at ``data_root``, with its T_margin, epochs or corpora changed."""
    return checked_in_config(
        "quantization",
        path,
        data_root=str(data_root),
        quantization={
            "corpora": list(corpora),
            "train": {"max_epochs": max_epochs},
            "adaptive": {"t_margin": t_margin},
        },
    )


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("e2e")
    link_corpora(work / "data")
    snakemake(work, write_config(work / "config.yaml", work / "data"), "all")
    return work


def link_corpora(root: Path) -> None:
    root.mkdir()
    for corpus in ("emodb", "tess"):
        (root / corpus).symlink_to(Path(DATA, corpus).resolve())


def test_table_has_every_family_protocol_quantizer_and_variant(work):
    summary = pd.read_csv(work / "results/tables/quantization.csv", keep_default_na=False, na_values=[""])
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
    markdown = (work / "results/tables/quantization.md").read_text()
    assert "± " in markdown and re.search(
        r"\| emodb +\| mfcc_chroma_mel +\| mlp +\| random +\| uniform +\| sensitivity\+qat − adaptive\+qat", markdown
    )
    for plot in ("pareto_emodb_random", "accuracy_vs_bits_emodb_random", "accuracy_vs_bits_emodb_speaker_independent"):
        assert (work / f"results/plots/{plot}.png").read_bytes()[:4] == b"\x89PNG"
    literature = (work / "results/tables/literature.md").read_text()
    assert "Logistic Model Tree" in literature and "serbench mlp adaptive (uniform)" in literature


def test_bit_search_read_its_own_validation_subset_only(work):
    cell = work / "results/quantization/quantized/mfcc_chroma_mel/emodb/random/mlp"
    records = json.loads((cell / "metrics.json").read_text())
    metrics = next(r for r in records if r["variant"] == "adaptive" and r["quantizer"] == "ternary" and r["seed"] == 1)
    assert metrics["fold"] == "0" and (cell / "packed/fold0/seed1/ternary/adaptive.sbq").is_file()
    split = pd.read_csv(work / "results/quantization/splits/emodb/random.csv")
    split = split[split.seed == 1]
    subset = {name: set(split.loc[split.subset == name, "utterance_id"]) for name in ("validation", "search", "test")}
    assert not subset["validation"] & subset["search"] and not subset["search"] & set(metrics["test_utterances"])
    assert metrics["search"]["subset"] == "search"
    assert metrics["search"]["n_utterances"] == len(subset["search"]) == metrics["n_search"]
    assert metrics["n_validation"] == len(subset["validation"])  # the other half chose the epoch
    # every score the search compared is reproduced from the search subset alone
    model, _ = load_packed(work / "results/quantization/models/mfcc_chroma_mel/emodb/random/mlp/fold0/seed1/fp32.sbq")
    features = work / "results/features/mfcc_chroma_mel/emodb/utterance.npz"
    files = CorpusFiles(work / "results/manifests/emodb.csv", features)
    split_path = work / "results/quantization/splits/emodb/random.csv"
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


def test_second_run_schedules_nothing(work):
    output = snakemake(work, work / "config.yaml", "all", "--dry-run")
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


def test_changing_a_quantization_key_reruns_only_quantization_and_report(work):
    changed = write_config(work / "changed.yaml", work / "data", t_margin=0.2)
    output = snakemake(work, changed, "all", "--dry-run")
    # 2 models × 2 protocols, every fold in one job; the curves read the adaptive settings too; not the SVM
    assert scheduled_rules(output) == {"quantization_quantize": 4, "quantization_allocators": 4, **REPORT}


def test_changing_a_training_key_keeps_features_and_splits(work):
    changed = write_config(work / "changed.yaml", work / "data", max_epochs=9)
    output = snakemake(work, changed, "all", "--dry-run")
    assert scheduled_rules(output) == {
        "quantization_train": 4,
        "quantization_quantize": 4,
        "quantization_allocators": 4,
        **REPORT,
    }


def test_adding_a_corpus_builds_that_corpus_and_the_report_only(work):
    changed = write_config(work / "changed.yaml", work / "data", corpora=("emodb", "tess"))
    output = snakemake(work, changed, "all", "--dry-run")
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


def test_deployment_lists_every_speaker_independent_model_with_bytes_and_latency_and_marks_a_front(work):
    summary = pd.read_csv(work / "results/tables/quantization.csv")
    table = pd.read_csv(work / "results/tables/deployment.csv")
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
    assert (work / "results/plots/deployment_pareto.png").stat().st_size > 10_000
    assert "Which model to deploy" in (work / "results/tables/deployment.md").read_text()


def test_every_row_names_its_config_hash_version_commit_and_seed(work):
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    runs = pd.read_csv(work / "results/tables/quantization_runs.csv", dtype=str)
    summary = pd.read_csv(work / "results/tables/quantization.csv", dtype=str)
    for rows in (runs, summary):
        assert rows["config_hash"].str.fullmatch(r"[0-9a-f]{12}").all() and rows["config_hash"].nunique() == 1
        assert (rows["serbench_version"] == serbench.__version__).all()
        assert rows["git_commit"].str.startswith(head).all() if head else rows["git_commit"].isna().all()
    assert set(runs["seed"]) == {"0", "1"} and set(summary["seeds"]) == {"0 1"}
    assert runs["config_hash"][0] == summary["config_hash"][0]


def embedded_pages(report: str) -> dict[str, str]:
    """File name -> decoded HTML of every HTML result embedded in a Snakemake report."""
    found = re.findall(r"data:text/html;charset=utf8;filename=([\w.]+);base64,([A-Za-z0-9+/=]+)", report)
    return {name: base64.b64decode(data).decode() for name, data in found}


def landing_text(report: str) -> str:
    """The landing page's HTML, as the report's app receives it (a JSON string it inserts as it renders)."""
    found = re.search(r"var workflow_desc = (\".*?\");\n", report)
    assert found, "no workflow description in the report"
    return json.loads(found.group(1))


def rendered_dom(path: Path) -> str:
    """The DOM headless Chromium builds for a local HTML file, scripts run."""
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000", "--dump-dom"]
    done = subprocess.run([*command, path.as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_serbench_predict_labels_a_file_with_a_packed_model_of_the_run(work):
    model = sorted((work / "results/quantization/quantized").rglob("*.sbq"))[-1]  # a quantized variant
    audio = Path(EMODB) / "wav" / "03a01Fa.wav"
    done = subprocess.run(
        [sys.executable, "-m", "serbench.cli", "predict", str(audio), "--model", str(model)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    fields = done.stdout.strip().split("\t")
    classes = load_packed(model)[1]["classes"]
    assert fields[0] == str(audio) and fields[1] in classes and [f.split("=")[0] for f in fields[2:]] == classes


def test_serbench_predict_serves_a_row_of_deployment_csv_as_its_packed_file(work):
    table = work / "results/tables/deployment.csv"
    rows = pd.read_csv(table)
    assert rows.loc[rows["model"] == "svm", "model_file"].isna().all()  # a pickle predict does not serve
    served = rows[rows["model_file"].notna()]
    assert served["model_file"].str.match(r"\.\./quantization/quantized/.*\.sbq$").all()
    row, best = int(served.index[0]) + 1, served.iloc[0]
    audio = str(Path(EMODB) / "wav" / "03a01Fa.wav")
    by_row, by_file = (
        subprocess.run(
            [sys.executable, "-m", "serbench.cli", "predict", audio, "--model", model],
            capture_output=True,
            text=True,
            timeout=300,
        )  # fmt: skip
        for model in (f"{table}:{row}", str(table.parent / best["model_file"]))
    )
    assert by_row.returncode == 0 and by_row.stdout == by_file.stdout, by_row.stderr


def test_no_saved_figure_has_text_that_overprints(work):
    logs = {path: path.read_text() for path in (work / "results/logs").rglob("*.log")}
    assert any("plots" in str(p) or "deployment" in str(p) or "allocator_report" in str(p) for p in logs)
    assert [str(p) for p, text in logs.items() if "overprints" in text] == []


def test_serbench_report_builds_the_report_of_the_last_run_with_its_own_configs_and_no_warning_flood(work, tmp_path):
    report = tmp_path / "report.html"
    command = [sys.executable, "-m", "serbench.cli", "report", "--results", str(work / "results"), "--out", str(report)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"--configfile {work / 'config.yaml'}" in done.stderr.splitlines()[0]
    assert "never awaited" not in done.stderr and done.stderr.count("Missing metadata") <= 3
    assert set(embedded_pages(report.read_text())) >= {"quantization.html", "deployment.html"}


@pytest.mark.skipif(not CHROMIUM and not BROWSER_REQUIRED, reason="no chromium (Debian's chromium package)")
def test_report_shows_every_table_as_a_page_that_renders_rows_in_chromium(work, tmp_path):
    report = tmp_path / "report.html"
    snakemake(work, work / "config.yaml", "--report", str(report))
    landing = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", landing_text(report.read_text())))
    assert "this report holds the quantization study" in landing and "mlp, lstm on emodb" in landing
    assert "['" not in landing  # prose, not Python lists
    pages = embedded_pages(report.read_text())
    assert set(pages) == {"quantization.html", "literature.html", "allocators.html", "deployment.html"}
    summary = pd.read_csv(work / "results/tables/quantization.csv")
    for name, page in pages.items():
        (tmp_path / name).write_text(page)
        dom = rendered_dom(tmp_path / name)
        rows = len(re.findall(r"<tr[ >]", dom))
        expected = {"quantization.html": 2 * len(summary), "allocators.html": 10, "literature.html": 5}.get(name, 10)
        assert rows >= expected, (name, rows)
    quantization = pages["quantization.html"]
    assert "Table 2, beside ours" in quantization and 'download="quantization.csv"' in quantization
    assert quantization.index("Table 2, beside ours") < quantization.index("WA % [95% CI]</th>")


def test_interrupted_run_resumes_to_identical_tables(work, tmp_path):
    """SIGINT mid-training, restart: no half-written file, and the tables equal the uninterrupted run's."""
    link_corpora(tmp_path / "data")
    config = write_config(tmp_path / "config.yaml", tmp_path / "data")
    command = workflow_command(tmp_path, "--cores", "2", "all", configfile=config)
    # unbuffered: the job lines reach us as Snakemake prints them, not at its exit
    run = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    seen = []
    for line in run.stdout:  # the first quantize job has started: training is done for its cell, not for others
        seen.append(line)
        if line.strip() == "localrule quantization_quantize:":
            break
    time.sleep(0.5)  # the job is running
    os.killpg(run.pid, signal.SIGINT)  # as Ctrl-C in a terminal: Snakemake and its running jobs
    interrupted = "".join(seen) + run.communicate(timeout=300)[0]
    if run.returncode == 0:
        pytest.skip(f"the run finished before the interrupt reached it: {interrupted[-300:]}")
    assert not (tmp_path / "results/tables/quantization.csv").exists()
    hidden = [p for p in (tmp_path / "results").rglob(".*") if p.is_file() and p.name != ".snakemake_timestamp"]
    assert hidden == []  # no temporary file of ours left (Snakemake marks directory outputs with its timestamp)
    snakemake(tmp_path, config, "all")
    for table in ("quantization.csv", "quantization_runs.csv"):
        pd.testing.assert_frame_equal(
            pd.read_csv(tmp_path / "results/tables" / table), pd.read_csv(work / "results/tables" / table)
        )


@pytest.fixture
def run_copy(work, tmp_path) -> Path:
    """A copy of the shared run (results, Snakemake's records, config; times kept) for a test that damages it."""
    copy = tmp_path / "run"
    shutil.copytree(work, copy, symlinks=True)
    return copy


def test_a_damaged_model_inside_a_cell_is_noticed_by_a_plain_rerun_and_rebuilt(run_copy):
    """Snakemake sees a cell as one folder; its checksum index makes a truncated model file inside it visible."""
    work = run_copy
    before = pd.read_csv(work / "results/tables/quantization_runs.csv")
    model = work / "results/quantization/models/mfcc_chroma_mel/emodb/speaker_independent/mlp/fold1/seed1/fp32.sbq"
    packed = sorted((work / "results/quantization/quantized/mfcc_chroma_mel/emodb/random/lstm/packed").rglob("*.sbq"))[
        0
    ]
    for path in (model, packed):
        os.truncate(path, 1000)
    planned = scheduled_rules(snakemake(work, work / "config.yaml", "all", "--dry-run"))
    # the damaged training cell, its quantization and curves; the damaged packed cell's quantization and its curves,
    # which read the quantize step's records
    assert planned == {"quantization_train": 1, "quantization_quantize": 2, "quantization_allocators": 2, **REPORT}
    snakemake(work, work / "config.yaml", "all")
    assert load_packed(model) and load_packed(packed)
    pd.testing.assert_frame_equal(pd.read_csv(work / "results/tables/quantization_runs.csv"), before)
    assert scheduled_rules(snakemake(work, work / "config.yaml", "all", "--dry-run")) == {}


def test_a_damaged_file_names_a_rebuild_command_that_works_as_printed(run_copy):
    """It damages one cell's metrics file of a copy of the shared run, then runs the printed command."""
    work = run_copy
    metrics = work / "results/quantization/quantized/mfcc_chroma_mel/emodb/random/lstm/metrics.json"
    metrics.write_text(metrics.read_text()[:100])
    failed = run_workflow(work, "--cores", "2", "all", "--forcerun", "quantization_table", timeout=600)
    assert failed.returncode != 0
    hint = re.search(r"rebuild it with: (snakemake .*metrics\.json)", failed.stderr + failed.stdout).group(1)
    assert f"--configfile {work / 'config.yaml'}" in hint and f"--directory {work}" in hint
    rebuilt = subprocess.run(hint, shell=True, cwd="/", capture_output=True, text=True, timeout=900)
    assert rebuilt.returncode == 0, rebuilt.stderr[-3000:]
    assert "rule download_corpus" not in rebuilt.stdout + rebuilt.stderr
    assert len(json.loads(metrics.read_text())) > 0
    snakemake(work, work / "config.yaml", "all")
