"""What users take from the quantization study's end-to-end run (conftest's ``quantization_run``, on the real
EmoDB): labels from its packed models, its figures, and its report, rendered in Chromium where there is one.

Needs SERBENCH_DATA (see ``test_workflow_quantization.py``); skipped with that reason otherwise.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import EMODB_E2E, run_to_end
from serbench.studies.quantization.packing import load_packed

EMODB = Path(os.environ.get("SERBENCH_DATA", "."), "emodb")
CHROMIUM = shutil.which("chromium")
BROWSER_REQUIRED = os.environ.get("SERBENCH_BROWSER") == "required"  # .ci/run: a missing chromium fails the test

pytestmark = EMODB_E2E


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


def test_serbench_predict_labels_a_file_with_a_packed_model_of_the_run(quantization_run):
    model = sorted((quantization_run / "results/quantization/quantized").rglob("*.sbq"))[-1]  # a quantized variant
    audio = EMODB / "wav" / "03a01Fa.wav"
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


def test_serbench_predict_serves_a_row_of_deployment_csv_as_its_packed_file(quantization_run):
    table = quantization_run / "results/tables/deployment.csv"
    rows = pd.read_csv(table)
    assert rows.loc[rows["model"] == "svm", "model_file"].isna().all()  # a pickle predict does not serve
    served = rows[rows["model_file"].notna()]
    assert served["model_file"].str.match(r"\.\./quantization/quantized/.*\.sbq$").all()
    row, best = int(served.index[0]) + 1, served.iloc[0]
    audio = str(EMODB / "wav" / "03a01Fa.wav")
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


def test_no_saved_figure_has_text_that_overprints(quantization_run):
    logs = {path: path.read_text() for path in (quantization_run / "results/logs").rglob("*.log")}
    assert any("plots" in str(p) or "deployment" in str(p) or "allocator_report" in str(p) for p in logs)
    assert [str(p) for p, text in logs.items() if "overprints" in text] == []


def test_serbench_report_builds_the_report_of_the_last_run_with_its_own_configs_and_no_warning_flood(
    quantization_run, tmp_path
):
    report = tmp_path / "report.html"
    command = [
        sys.executable,
        "-m",
        "serbench.cli",
        "report",
        "--results",
        str(quantization_run / "results"),
        "--out",
        str(report),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"--configfile {quantization_run / 'config.yaml'}" in done.stderr.splitlines()[0]
    assert "never awaited" not in done.stderr and done.stderr.count("Missing metadata") <= 3
    assert set(embedded_pages(report.read_text())) >= {"quantization.html", "deployment.html"}


@pytest.mark.skipif(not CHROMIUM and not BROWSER_REQUIRED, reason="no chromium (Debian's chromium package)")
def test_report_shows_every_table_as_a_page_that_renders_rows_in_chromium(quantization_run, tmp_path):
    report = tmp_path / "report.html"
    run_to_end(quantization_run, quantization_run / "config.yaml", "--report", str(report))
    landing = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", landing_text(report.read_text())))
    assert "this report holds the quantization study" in landing and "mlp, lstm on emodb" in landing
    assert "['" not in landing  # prose, not Python lists
    pages = embedded_pages(report.read_text())
    assert set(pages) == {"quantization.html", "literature.html", "allocators.html", "deployment.html"}
    summary = pd.read_csv(quantization_run / "results/tables/quantization.csv")
    for name, page in pages.items():
        (tmp_path / name).write_text(page)
        dom = rendered_dom(tmp_path / name)
        rows = len(re.findall(r"<tr[ >]", dom))
        expected = {"quantization.html": 2 * len(summary), "allocators.html": 10, "literature.html": 5}.get(name, 10)
        assert rows >= expected, (name, rows)
    quantization = pages["quantization.html"]
    assert "Table 2, beside ours" in quantization and 'download="quantization.csv"' in quantization
    assert quantization.index("Table 2, beside ours") < quantization.index("WA % [95% CI]</th>")
