"""The self-distillation study run by Snakemake on real EmoDB (four speakers): a tiny random wav2vec2 (3 layers)
fine-tuned with its exits, and the pretrained Whisper tiny.en frozen, its states cached (as config/offline.yaml).

Needs SERBENCH_DATA (a folder holding emodb/); skipped otherwise. The Whisper run needs the shared Hugging Face cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import TEST_CONFIGS, link_emodb_speakers, run_workflow, write_tone
from serbench.ssl.upstream import save_random_upstream

HAS_WHISPER = (Path(os.environ.get("HF_HUB_CACHE", "/nonexistent")) / "models--openai--whisper-tiny.en").is_dir()

DATA = os.environ.get("SERBENCH_DATA")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not DATA, reason="SERBENCH_DATA is unset: point it at a folder with emodb/"),
]


def data_root(work: Path) -> Path:
    """EmoDB's official layout with the files of four speakers (03, 08, 09, 10), to keep CI short."""
    return link_emodb_speakers(Path(DATA), work / "data", {"03", "08", "09", "10"})


def run_study(work: Path, config: dict) -> None:
    """Write ``config`` into ``work`` and build ``all`` there with Snakemake on 2 cores."""
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    done = run_workflow(work, "--cores", "2", "all")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("selfdistill")
    encoder = save_random_upstream("wav2vec2-base", work / "tiny-wav2vec2", size="tiny", num_hidden_layers=3)
    run_study(
        work,
        {
            "data_root": str(data_root(work)),
            "studies": ["selfdistill"],
            "selfdistill": {
                "upstreams": [{"pretrained": str(encoder), "layers": 3, "exit_layers": [1, 2]}],
                "variants": ["gru-l2+cosine"],
                "seeds": [0],
                "train": {"epochs": 1},
                "latency": {"repeats": 1},
            },
        },
    )
    return work


def test_every_exit_teacher_and_fusion_is_scored(work):
    metrics = json.loads((work / "results/selfdistill/tiny-wav2vec2/runs/gru-l2+cosine/fold1.json").read_text())[0]
    assert (metrics["fold"], metrics["seed"]) == ("1", 0)
    assert set(metrics["scores"]["test"]) == {"teacher", "1", "2", "fusion_margin", "fusion_mean", "fusion_confident"}
    assert "retrain" in metrics["history"]  # the paper's schedule: train, then train + devel for the test model
    assert all(0 <= s["uar"] <= 1 for s in metrics["scores"]["test"].values())
    assert metrics["similarity"] == ["l2", "cosine"]
    assert metrics["finetune"] is True and metrics["upstream"] == "tiny-wav2vec2" and metrics["random_init"] is True
    assert (work / "results/selfdistill/tiny-wav2vec2/runs/gru-l2+cosine/fold1/seed0/model.pt").is_file()
    assert (work / "results/waveforms/raw/emodb.npz").is_file()  # the authors' waveforms: 16 kHz, nothing else
    baseline = json.loads((work / "results/selfdistill/tiny-wav2vec2/runs/baseline-2/fold0.json").read_text())[0]
    assert set(baseline["scores"]["test"]) == {"teacher"} and baseline["teacher_depth"] == 2


def test_tables_latency_and_int8(work):
    markdown = (work / "results/tables/selfdistill.md").read_text()
    assert "Table 1 layout" in markdown and "Table 2 layout" in markdown and "random" in markdown
    runs = pd.read_csv(work / "results/tables/selfdistill_runs.csv", dtype={"config_hash": str})
    assert set(runs["variant"]) == {"gru-l2+cosine", "baseline-1", "baseline-2", "baseline-3"}
    assert runs["config_hash"].str.fullmatch(r"[0-9a-f]{12}").all() and runs["config_hash"].nunique() == 1
    assert runs["serbench_version"].notna().all() and set(runs["seed"]) == {0}
    latency = json.loads((work / "results/selfdistill/tiny-wav2vec2/latency.json").read_text())["exits"]
    # the upstream's own architecture: an exit at layer 1 runs one of its three layers
    layer = sum(p.numel() for p in _tiny_layer().parameters())
    conv_block = 3  # the exit's 1x1 convolution weight and its BatchNorm's two
    assert latency["teacher"]["depth"] == 3
    assert latency["teacher"]["n_params"] - latency["1"]["n_params"] == 2 * layer - conv_block
    int8 = json.loads((work / "results/selfdistill/tiny-wav2vec2/int8/gru-l2+cosine.json").read_text())["exits"]
    assert set(int8) == {"1", "2", "teacher"}
    assert all(row["int8_mb"] < row["float_mb"] for row in int8.values())
    table = pd.read_csv(work / "results/tables/deployment.csv")
    deployment = table[table["study"] == "selfdistill"]
    assert set(table["study"]) == {"selfdistill", "emobox (quoted)"}
    assert sorted(deployment["model"].unique()) == [f"gru-l2+cosine exit {e}" for e in ("1", "2", "teacher")]
    assert sorted(deployment["bytes"]) == sorted(
        round(1e6 * r[k]) for r in int8.values() for k in ("int8_mb", "float_mb")
    )
    assert deployment["weights"].eq("random").all() and deployment["pareto"].any()


def test_serbench_predict_serves_a_deployment_row_at_its_exit(work):
    deployment = pd.read_csv(work / "results/tables/deployment.csv", dtype={"exit": str})
    served = deployment[deployment["model_file"].notna()]
    assert set(served["variant"]) == {"int8_static"} and set(served["exit"]) == {"1", "2", "teacher"}
    row = int(served.index[served["exit"] == "1"][0]) + 1
    audio = sorted((work / "data/emodb/wav").glob("*.wav"))[0]
    table = work / "results/tables/deployment.csv"
    by_row, by_file = (
        subprocess.run([sys.executable, "-m", "serbench.cli", "predict", str(audio), "--model", *model],
                       capture_output=True, text=True, timeout=300)  # fmt: skip
        for model in ([f"{table}:{row}"], [str(work / "results/selfdistill/tiny-wav2vec2/onnx/gru-l2+cosine.int8.onnx"),
                                           "--exit", "1"])
    )  # fmt: skip
    assert by_row.returncode == 0, by_row.stderr
    assert by_row.stdout == by_file.stdout and "random weights" in by_row.stderr
    metrics = json.loads((work / "results/selfdistill/tiny-wav2vec2/runs/gru-l2+cosine/fold1.json").read_text())[0]
    assert by_row.stdout.split("\t")[1] in metrics["classes"]


def _tiny_layer():
    from serbench.ssl.upstream import random_upstream

    return random_upstream("wav2vec2-base", "tiny").transformer_layers()[0]


@pytest.mark.skipif(not HAS_WHISPER, reason="no Hugging Face cache with openai/whisper-tiny.en (HF_HUB_CACHE)")
def test_frozen_pretrained_whisper_trains_exits_on_cached_states(tmp_path):
    config = yaml.safe_load((TEST_CONFIGS / "selfdistill.yaml").read_text())  # the checked-in test config
    run_study(tmp_path, config | {"data_root": str(data_root(tmp_path))})
    states = tmp_path / "results/selfdistill/whisper-tiny-en/states/emodb.npz"
    import numpy as np

    with np.load(states) as cache:
        assert cache["values"].dtype == np.float16 and cache["values"].shape[1] == 4 * 384  # layers 1-4 side by side
        assert set(np.diff(cache["offsets"])) == {299}  # every clip tiled to 5.984 s: 299 frames
    metrics = json.loads((tmp_path / "results/selfdistill/whisper-tiny-en/runs/conv-cosine/fold0.json").read_text())[0]
    assert metrics["finetune"] is False and metrics["random_init"] is False
    assert set(metrics["scores"]["test"]) == {
        "teacher",
        "1",
        "2",
        "3",
        "fusion_margin",
        "fusion_mean",
        "fusion_confident",
    }
    markdown = (tmp_path / "results/tables/selfdistill.md").read_text()
    assert "encoder frozen" in markdown and "pretrained weights" in markdown and "Layer 3" in markdown
    assert (
        not (tmp_path / "results/selfdistill/whisper-tiny-en/runs/conv-cosine/fold0/seed0/model.pt").stat().st_size
        > 5e6
    )


def test_demos_copy_runs_the_study_on_fixed_speaker_lists_without_neutral(tmp_path):
    root = tmp_path / "data" / "demos"
    for s, speaker in enumerate(["f01", "f02", "m03", "m04", "m05"]):
        for e, code in enumerate(["rab", "col", "tri", "neu"]):
            for take in "ab":
                name = f"PR_{speaker[0]}_{speaker[1:]}_{code}01{take}.wav"
                write_tone(root / ("NEU" if code == "neu" else "DEMOS") / name, seconds=1.2, freq=150 + 60 * e + 7 * s)
    encoder = save_random_upstream("wav2vec2-base", tmp_path / "tiny-wav2vec2", size="tiny", num_hidden_layers=2)
    run_study(
        tmp_path,
        {
            "data_root": str(tmp_path / "data"),
            "studies": ["selfdistill"],
            "selfdistill": {
                "upstreams": [{"pretrained": str(encoder), "layers": 2, "exit_layers": [1]}],
                "corpus": "demos",
                "protocol": "fixed_speakers",
                "exclude_emotions": ["neutral"],
                "speakers": {"train": ["f01", "m03", "m04"], "validation": ["f02"], "test": ["m05"]},
                "variants": ["conv-l2"],
                "baselines": False,
                "seeds": [0],
                "train": {"epochs": 1},
                "latency": {"repeats": 1},
            },
        },
    )
    split = pd.read_csv(tmp_path / "results/selfdistill/splits/demos.csv")
    speakers = split["utterance_id"].str.split("_").str[1:3].str.join("")
    assert split.assign(speaker=speakers).groupby("subset")["speaker"].apply(set).to_dict() == {
        "train": {"f01", "m03", "m04"},
        "validation": {"f02"},
        "test": {"m05"},
    }
    metrics = json.loads((tmp_path / "results/selfdistill/tiny-wav2vec2/runs/conv-l2/fold0.json").read_text())[0]
    assert metrics["classes"] == ["anger", "guilt", "sadness"]  # neutral left out, as the paper does
    assert "demos" in (tmp_path / "results/tables/selfdistill.md").read_text()
