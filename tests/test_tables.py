import json

import pandas as pd
import pytest

from serbench.cache import DamagedFileError
from serbench.studies.quantization.plots import pareto_front, plot_pareto
from serbench.studies.quantization.tables import RUN_COLUMNS, read_runs, summarize, to_markdown, write_tables


def run(variant, seed, accuracy):
    return dict(
        dataset="emodb",
        protocol="random",
        model="mlp",
        variant=variant,
        fold="0",
        seed=seed,
        n_params=100,
        avg_bits={"fp32": 32, "fixed2": 2, "adaptive": 1.5}[variant],
        size_kb=0.4,
        file_bytes=500 + seed,
        accuracy=accuracy,
        uar=accuracy - 0.1,
        macro_f1=accuracy - 0.2,
        n_test=54,
        serbench_version="0.1.0",
        git_commit="abc123",
    )


def test_summary_means_stds_order_and_paper_column(tmp_path):
    records = [
        run(v, s, acc)
        for v, s, acc in [
            ("adaptive", 0, 0.7),
            ("fp32", 0, 0.6),
            ("fp32", 1, 0.8),
            ("fixed2", 0, 0.5),
            ("adaptive", 1, 0.7),
        ]
    ]
    runs = read_runs(records)
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


def test_damaged_metrics_file_is_named_with_its_rebuild_command(tmp_path):
    (tmp_path / "good.json").write_text(json.dumps([run("fp32", 0, 0.6)]))
    (tmp_path / "bad.json").write_text("[{")
    outputs = [str(tmp_path / name) for name in ("runs.csv", "t.csv", "t.md", "lit.md")]
    with pytest.raises(
        DamagedFileError, match=r"bad\.json: damaged metrics file .*snakemake --cores 1 --force .*bad\.json"
    ):
        write_tables([str(tmp_path / "good.json"), str(tmp_path / "bad.json")], *outputs)
    write_tables([str(tmp_path / "good.json")], *outputs, config_hash="0123456789ab")
    assert pd.read_csv(outputs[1])["config_hash"].tolist() == ["0123456789ab"]


def test_pareto_front_keeps_non_dominated_points():
    size = pd.Series([10, 20, 5, 40], index=["a", "b", "c", "d"])
    accuracy = pd.Series([0.8, 0.7, 0.6, 0.9], index=["a", "b", "c", "d"])
    assert pareto_front(size, accuracy) == ["c", "a", "d"]


def test_plot_written_as_png(tmp_path):
    records = [run(v, 0, 0.6) for v in ("fp32", "fixed2", "adaptive")]
    plot_pareto(summarize(read_runs(records)), "emodb", tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="tess"):
        plot_pareto(summarize(read_runs(records)), "tess", tmp_path / "q.png")
