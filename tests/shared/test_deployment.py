"""The deployment view: latency of the quantization study's models, rows read from each study's records, fronts."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from serbench.errors import InputError
from serbench.figure_check import overlapping_texts
from serbench.predict import deployment_row
from serbench.settings import Settings
from serbench.studies.deployment import (
    deployment_figure,
    deployment_table,
    distilhubert_rows,
    pareto_flags,
    quantization_rows,
    write_deployment,
)
from serbench.studies.quantization.latency import feature_model_latency
from serbench.studies.quantization.models import build_model, count_parameters


@pytest.mark.parametrize("feature_set, utterance_dim, frame_dim", [("mfcc_chroma_mel", 180, 180), ("egemaps", 88, 25)])
def test_latency_times_each_family_on_the_inputs_it_reads(feature_set, utterance_dim, frame_dim, monkeypatch):
    from serbench.studies.quantization import latency

    settings = Settings().quantization
    families = {name: getattr(settings, name).model_dump() for name in ("mlp", "lstm")}
    extractions = []
    extract = latency.clip_features
    monkeypatch.setattr(latency, "clip_features", lambda *a: extractions.append(1) or extract(*a))
    result = feature_model_latency(feature_set, settings.features, families, 7, 64, 1.0, 1, [1])
    expected = {
        "mlp": count_parameters(build_model("mlp", input_dim=utterance_dim, n_classes=7, **families["mlp"])),
        "lstm": count_parameters(build_model("lstm", input_dim=frame_dim, n_classes=7, **families["lstm"])),
    }
    assert {name: record["n_params"] for name, record in result["models"].items()} == expected
    assert result["features"] == feature_set and set(result["features_s"]) == {1}
    assert all(set(record["latency_s"]) == {1} and record["latency_s"][1] > 0 for record in result["models"].values())
    assert all(r["classifier_s"][1] > 0 for r in result["models"].values())
    # features extracted once for the inputs, then 3 times (2 warm-up + 1 timed) for features_s and for each family's
    # latency_s; never for classifier_s, the model alone
    assert len(extractions) == 1 + 3 + 3 * len(families)


def test_quantization_rows_keep_the_speaker_independent_protocol_and_time_each_family(tmp_path):
    table = pd.DataFrame(
        {
            "dataset": "emodb",
            "protocol": ["random", "speaker_independent", "speaker_independent", "speaker_independent"],
            "features": "egemaps",
            "model": ["mlp", "mlp", "mlp", "svm"],
            "quantizer": ["none", "none", "uniform", "none"],
            "variant": ["fp32", "fp32", "fixed2", "fp32"],
            "uar": [0.9, 0.6, 0.55, 0.58],
            "uar_std": 0.01,
            "n_runs": 100,
            "file_bytes": [800, 800, 60, 900],
            "n_params": 200,
            "n_folds": 10,
            "classes": "anger boredom sadness",
        }
    )
    table.to_csv(tmp_path / "quantization.csv", index=False)
    latency = {
        "features": "egemaps",
        "models": {"mlp": {"latency_s": {"2": 0.001, "1": 0.004}, "classifier_s": {"2": 1e-5, "1": 2e-5}}},
    }
    (tmp_path / "egemaps.json").write_text(json.dumps(latency))
    rows = quantization_rows(tmp_path / "quantization.csv", [tmp_path / "egemaps.json"])
    assert rows["variant"].tolist() == ["fp32", "fixed2 (uniform)", "fp32"]
    assert set(rows["task"]) == {"emodb, 10 speaker folds, 3 classes"}
    assert rows["latency_ms"].iloc[:2].tolist() == [4.0, 4.0] and np.isnan(rows["latency_ms"].iloc[2])


def test_distilhubert_rows_average_the_folds_and_read_the_exported_sizes(tmp_path):
    heads = [{"fold": str(f), "uar_float": 0.6 + f / 10, "uar_int8_dynamic": 0.5 + f / 10} for f in range(2)]
    latency = {
        "upstream": "whisper-tiny-en",
        "random_init": False,
        "n_params": 1000,
        "clip_seconds": 8.0,
        "threads": [1, 2],
        "onnx_float_mb": 4.0,
        "onnx_int8_dynamic_mb": 1.5,
        "latency_onnx_float_s": {"1": 0.08, "2": 0.04},
        "latency_onnx_int8_dynamic_s": {"1": 0.05, "2": 0.03},
    }
    files = {"float": "r/onnx/model.onnx", "int8": "r/onnx/model.int8.onnx"}
    deploy = {"classes": list("abcd"), "int8": {"scheme": "dynamic"}, "files": files}
    for name, record in {"int8": {"heads": heads}, "latency": latency, "deploy": deploy}.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(record))
    rows = distilhubert_rows(*(tmp_path / f"{n}.json" for n in ("int8", "latency", "deploy")), "emodb")
    assert rows["variant"].tolist() == ["float", "int8_dynamic"]  # schemes not measured are not invented
    assert rows["ua"].tolist() == pytest.approx([0.65, 0.55]) and rows["bytes"].tolist() == [4_000_000, 1_500_000]
    assert rows["latency_ms"].tolist() == pytest.approx([80.0, 50.0])
    assert set(rows["task"]) == {"emodb, 2 speaker folds, 4 classes"} and set(rows["weights"]) == {"pretrained"}
    assert rows["model_file"].tolist() == [files["float"], files["int8"]]


def test_a_row_of_deployment_csv_names_the_file_predict_serves_wherever_the_results_folder_moves(tmp_path):
    rows = pd.DataFrame(
        {
            "study": ["quantization", "selfdistill", "quantization"], "task": "t", "source": "s",
            "model": ["mlp", "conv-l2 exit 3", "svm"], "variant": ["fixed4 (uniform)", "int8_static", "fp32"],
            "runtime": "r", "weights": "trained", "ua": [0.5, 0.6, 0.4], "ua_std": np.nan, "n_runs": 1,
            "bytes": [10, 20, 30], "n_params": 5, "latency_ms": 1.0,
            "model_file": [str(tmp_path / f"results/{f}") for f in ("q/fixed4.sbq", "sd/conv-l2.int8.onnx")] + [None],
            "exit": [None, "3", None],
        }
    )  # fmt: skip
    (tmp_path / "results/tables").mkdir(parents=True)
    csv = tmp_path / "results/tables/deployment.csv"
    write_deployment(deployment_table([rows]), csv, csv.with_suffix(".md"), csv.with_suffix(".png"))
    written = pd.read_csv(csv)
    assert written["model_file"].dropna().str.startswith("../").all()  # relative to the table's folder
    assert re.search(r"\| +row \| study", csv.with_suffix(".md").read_text())
    (tmp_path / "results").rename(tmp_path / "moved")
    moved = tmp_path / "moved/tables/deployment.csv"
    served = {deployment_row(moved, row) for row in (1, 2)}  # sorted by UA: the exit's row first
    assert served == {(moved.parent / "../sd/conv-l2.int8.onnx", "3"), (moved.parent / "../q/fixed4.sbq", None)}
    with pytest.raises(InputError, match="row 3 \\(quantization svm fp32\\) has no model file"):
        deployment_row(moved, 3)
    with pytest.raises(InputError, match="no row 4; it has rows 1 to 3"):
        deployment_row(moved, 4)


def test_an_untimed_row_loses_to_a_timed_one_and_tasks_do_not_compete():
    rows = pd.DataFrame(
        {
            "task": ["a", "a", "b"],
            "ua": [0.5, 0.5, 0.1],
            "bytes": [10, 10, 1000],
            "latency_ms": [np.nan, 3.0, 9.0],
        }
    )
    assert pareto_flags(rows).tolist() == [False, True, True]


def test_a_run_without_speaker_independent_models_or_latencies_still_writes_an_explained_table_and_plot(tmp_path):
    outputs = [tmp_path / name for name in ("deployment.csv", "deployment.md", "deployment.png")]
    write_deployment(deployment_table([]), *outputs)
    assert pd.read_csv(outputs[0]).empty and "no model of this run was scored" in outputs[1].read_text().lower()
    untimed = pd.DataFrame(
        {
            "study": "selfdistill",
            "task": "t",
            "source": "up",
            "model": ["gru exit 1", "gru exit 2"],
            "variant": "float",
            "runtime": "ONNX",
            "weights": "random",
            "ua": [0.3, 0.4],
            "ua_std": np.nan,
            "n_runs": 2,
            "bytes": [10, 20],
            "n_params": [5, 9],
            "latency_ms": np.nan,
        }  # fmt: skip
    )
    table = deployment_table([untimed])
    write_deployment(table, *outputs)
    assert table["pareto"].tolist() == [True, True] and outputs[2].stat().st_size > 10_000


def test_the_front_is_named_without_overprinting_and_the_latency_panel_shows_the_classifier_alone():
    variants = [f"fixed{b} (uniform)" for b in range(1, 9)] + ["adaptive (uniform)", "adaptive (ternary)"]
    rows = pd.DataFrame(
        {
            "study": "quantization", "task": "emodb, 10 speaker folds, 7 classes", "source": "egemaps", "model": "mlp",
            "variant": variants, "runtime": "PyTorch", "weights": "trained",
            "ua": np.linspace(0.50, 0.505, len(variants)), "ua_std": 0.01, "n_runs": 100,
            "bytes": np.linspace(30_000, 31_000, len(variants)), "n_params": 200, "latency_ms": 10.9,
            "classifier_ms": 0.08,
        }
    )  # fmt: skip
    table = deployment_table([rows])
    measured = table["study"] == "quantization"
    assert table.loc[measured, "pareto"].all()  # ten names for points a few pixels apart
    quoted = table[~measured]  # EmoBox's EmoDB upstreams beside them, never on a front
    assert len(quoted) == 10 and not quoted["pareto"].any() and quoted["latency_ms"].isna().all()
    assert set(quoted["task"]) == {"emodb, EmoBox folds, 7 classes"}
    assert (quoted["bytes"] == 4 * quoted["n_params"]).all() and quoted["n_params"].between(90e6, 700e6).all()
    figure = deployment_figure(table)
    figure.tight_layout()
    assert overlapping_texts(figure) == []
    assert len(figure.axes) == 2  # the quoted rows are marks on the measured task's panels, no task of their own
    named = {text.get_text() for text in figure.axes[0].texts}
    assert named == {f"mlp {v}" for v in variants} | {"WavLM large"}  # the best quoted upstream on EmoDB
    latency_panel = figure.axes[1]
    dots = [c for c in latency_panel.collections if c.get_label() == "quantization: classifier alone"]
    assert len(dots) == 1 and np.allclose(dots[0].get_offsets()[:, 0], 0.08)
