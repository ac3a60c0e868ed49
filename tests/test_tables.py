import json

import pandas as pd
import pytest

from serbench.report.plots import pareto_front, plot_pareto
from serbench.report.tables import RUN_COLUMNS, read_runs, summarize, to_markdown


def write_run(path, variant, seed, accuracy):
    record = dict(corpus="emodb", protocol="random", model="mlp", variant=variant, fold="0", seed=seed,
                  n_params=100, avg_bits={"fp32": 32, "fixed2": 2, "adaptive": 1.5}[variant], size_kb=0.4,
                  file_bytes=500 + seed, accuracy=accuracy, uar=accuracy - 0.1, macro_f1=accuracy - 0.2, n_test=54,
                  serbench_version="0.1.0", git_commit="abc123")
    path.write_text(json.dumps(record))
    return path


def test_summary_means_stds_order_and_paper_column(tmp_path):
    paths = [write_run(tmp_path / f"{v}{s}.json", v, s, acc)
             for v, s, acc in [("adaptive", 0, 0.7), ("fp32", 0, 0.6), ("fp32", 1, 0.8), ("fixed2", 0, 0.5), ("adaptive", 1, 0.7)]]
    runs = read_runs(paths)
    assert list(runs.columns) == RUN_COLUMNS and len(runs) == 5
    table = summarize(runs)
    assert table["variant"].tolist() == ["fp32", "fixed2", "adaptive"]
    fp32 = table.iloc[0]
    assert fp32["accuracy"] == pytest.approx(0.7) and fp32["accuracy_std"] == pytest.approx(0.141421, abs=1e-5)
    assert fp32["n_runs"] == 2 and fp32["file_bytes"] == 500  # mean of 500 and 501, rounded half to even
    assert fp32["paper_accuracy"] == pytest.approx(0.7407)
    assert table.iloc[2]["paper_accuracy"] == pytest.approx(0.7593)
    assert table.iloc[1]["accuracy_std"] == 0.0  # one run: no spread
    assert fp32["seeds"] == "0 1" and fp32["git_commit"] == "abc123" and fp32["serbench_version"] == "0.1.0"
    markdown = to_markdown(table)
    assert "70.00 ± 14.14" in markdown and "74.07" in markdown


def test_bad_metrics_file_named(tmp_path):
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="bad.json"):
        read_runs([tmp_path / "bad.json"])


def test_pareto_front_keeps_non_dominated_points():
    size = pd.Series([10, 20, 5, 40], index=["a", "b", "c", "d"])
    accuracy = pd.Series([0.8, 0.7, 0.6, 0.9], index=["a", "b", "c", "d"])
    assert pareto_front(size, accuracy) == ["c", "a", "d"]


def test_plot_written_as_png(tmp_path):
    paths = [write_run(tmp_path / f"{v}.json", v, 0, 0.6) for v in ("fp32", "fixed2", "adaptive")]
    plot_pareto(summarize(read_runs(paths)), "emodb", tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="tess"):
        plot_pareto(summarize(read_runs(paths)), "tess", tmp_path / "q.png")
