"""The DistilHuBERT study run by Snakemake on real EmoDB, TESS and RAVDESS copies with a tiny random encoder.

Needs SERBENCH_DATA, a folder holding emodb/, tess/ and ravdess/ in their
official layouts (.ci/run sets it to ../shared/data); skipped otherwise.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pytest
import soundfile as sf
import torch
import yaml

from serbench.ssl.upstream import load_upstream, save_random_upstream

REPO = Path(__file__).resolve().parents[1]
DATA = os.environ.get("SERBENCH_DATA")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not DATA, reason="SERBENCH_DATA is unset: point it at a folder with emodb/, tess/, ravdess/"),
]


def data_root(work: Path) -> Path:
    """EmoDB and RAVDESS as they are; TESS cut to 20 files per speaker and emotion (280), to keep CI short."""
    root = work / "data"
    root.mkdir()
    for corpus in ("emodb", "ravdess"):
        (root / corpus).symlink_to(Path(DATA, corpus).resolve())
    for folder in sorted(Path(DATA, "tess").iterdir()):
        (root / "tess" / folder.name).mkdir(parents=True)
        for audio in sorted(folder.iterdir())[:20]:
            (root / "tess" / folder.name / audio.name).symlink_to(audio.resolve())
    return root


def write_config(work: Path, pretrained: str, **distilhubert) -> Path:
    config = {
        "data_root": str(data_root(work)),
        "studies": ["distilhubert"],
        "distilhubert": {
            "pretrained": pretrained,
            "views": 1,
            "train": {"epochs": 4},
            "n_folds": 2,
            "extra_train": ["tess"],
            "cross_corpus_test": "ravdess",
            "seeds": [0],
            "latency": {"repeats": 1},
            "finetune": False,
            **distilhubert,
        },
    }
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def snakemake(work: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [
        "snakemake",
        "--snakefile",
        str(REPO / "workflow" / "Snakefile"),
        "--directory",
        str(work),
        "--configfile",
        str(work / "config.yaml"),
        "--cores",
        "2",
        *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=1800)


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("ssl")
    encoder = save_random_upstream("distilhubert", work / "tiny-distilhubert", size="tiny")
    write_config(work, str(encoder))
    done = snakemake(work, "all")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return work


def test_table1_has_both_settings_per_class_f1_and_the_random_weight_warning(work):
    table = pd.read_csv(work / "results/tables/distilhubert_table1.csv")
    assert set(table["setting"]) == {"base", "extra"}
    assert {"accuracy", "uar", "macro_f1", "f1_anger", "f1_happiness", "f1_neutral", "f1_sadness", "cross_uar"} <= set(
        table["metric"]
    )
    production = table["metric"].str.startswith("production_")
    assert table["mean"].between(0, 1).all() and (table.loc[~production, "n_runs"] == 2).all()
    assert {"production_cross_uar", "production_validation_uar"} <= set(table["metric"])
    assert (table.loc[production, "n_runs"] == 1).all()
    markdown = (work / "results/tables/distilhubert_table1.md").read_text()
    assert "random" in markdown and "± " in markdown and "gain (Δ)" in markdown
    runs = pd.read_csv(work / "results/tables/distilhubert_runs.csv", dtype={"config_hash": str})
    assert set(runs["cross_corpus"]) == {"ravdess"}
    assert runs["config_hash"].str.fullmatch(r"[0-9a-f]{12}").all() and runs["serbench_version"].notna().all()
    assert table["config_hash"].nunique() == 1 and set(table["seeds"].astype(str)) == {"0"}
    metrics = json.loads((work / "results/distilhubert/heads/extra/fold0.json").read_text())[0]
    assert metrics["classes"] == ["anger", "happiness", "neutral", "sadness"]
    assert metrics["cross_corpus"]["n_test"] == 16 + 16 + 8 + 16  # RAVDESS two actors: angry, happy, neutral, sad
    split = pd.read_csv(work / "results/distilhubert/splits/extra.csv")
    assert set(split.loc[split.corpus == "tess", "subset"]) == {"train"}  # the extra corpus only trains
    production = split[(split.fold == "production") & (split.corpus == "emodb")]
    assert set(production["subset"]) == {"train", "validation"}  # the production model: 95/5 of all of EmoDB
    assert (production["subset"] == "validation").mean() == pytest.approx(0.05, abs=0.01)
    model = json.loads((work / "results/distilhubert/heads/extra/production.json").read_text())[0]
    assert model["n_test"] == 0 and model["cross_corpus"]["n_test"] == 56 and 0 <= model["validation"]["uar"] <= 1
    assert (work / "results/plots/distilhubert_confusion.png").read_bytes()[:4] == b"\x89PNG"


def test_int8_table_and_files(work):
    int8 = json.loads((work / "results/distilhubert/onnx/int8.json").read_text())
    assert int8["encoder_int8_static_mb"] < int8["encoder_int8_dynamic_mb"] < int8["encoder_float_mb"]
    assert len(int8["heads"]) == 2 and int8["calibration_utterances"] == 32
    assert int8["deployed_head"].endswith("heads/base/production/seed0/head.pt")  # as the paper exported it
    assert int8["deployed_int8"] == "mixed"
    assert int8["encoder_int8_mixed_mb"] <= int8["encoder_int8_static_mb"]
    for head in int8["heads"]:
        for kind in ("static", "mixed", "dynamic"):
            assert 0 <= head[f"uar_int8_{kind}"] <= 1 and 0.5 < head[f"cosine_int8_{kind}"] <= 1.0 + 1e-6
    latency = json.loads((work / "results/distilhubert/latency.json").read_text())
    assert latency["n_params"] > 23_000_000  # full-size DistilHuBERT + head, built from its config
    # static: every Conv and MatMul weight in int8 (about a quarter); dynamic: the convolutions stay float
    assert latency["onnx_int8_static_mb"] < 0.3 * latency["onnx_float_mb"] < latency["onnx_int8_dynamic_mb"]
    for runtime in ("pytorch_float", "onnx_float", "onnx_int8_dynamic", "onnx_int8_static", "onnx_int8_mixed"):
        assert set(latency[f"latency_{runtime}_s"]) == {"1", "2"}
    markdown = (work / "results/tables/distilhubert_int8.md").read_text()
    assert (
        "int8 ONNX, static" in markdown
        and "int8 ONNX, mixed" in markdown
        and "PyTorch float32" in markdown
        and "2 thread(s)" in markdown
        and "Deployable `model.int8.onnx`: mixed int8 of" in markdown
    )


def _voice_note(path: Path, pieces: list[np.ndarray], rate: int) -> Path:
    silence = np.zeros(rate, dtype=np.float32)
    sf.write(path, np.concatenate([x for p in pieces for x in (p, silence)]), rate)
    return path


def test_predict_long_voice_note_and_clear_errors(work, tmp_path):
    rate = 22050
    speech = [sf.read(p, dtype="float32")[0] for p in sorted(Path(DATA, "emodb", "wav").glob("03a0*.wav"))[:6]]
    note = _voice_note(tmp_path / "note.wav", speech, rate)
    silent = _voice_note(tmp_path / "silent.wav", [np.zeros(rate, dtype=np.float32)], rate)
    short = tmp_path / "short.wav"
    sf.write(short, speech[0][int(0.6 * rate) : int(0.9 * rate)], rate)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF0000")
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(note.read_bytes()[: note.stat().st_size // 2])
    model = work / "results/distilhubert/onnx/model.int8.onnx"
    files = [note, silent, short, broken, truncated, tmp_path / "missing.wav"]
    done = subprocess.run(
        ["serbench", "predict", *map(str, files), "--model", str(model)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1, done.stderr  # some files failed: non-zero, as documented
    line = done.stdout.strip().splitlines()[0].split("\t")
    probabilities = dict(field.split("=") for field in line[1:])
    assert line[0] == str(note) and set(probabilities) == {"anger", "happiness", "neutral", "sadness"}
    assert sum(map(float, probabilities.values())) == pytest.approx(1.0, abs=0.005)
    errors = dict(line.split("\terror: ", 1) for line in done.stderr.strip().splitlines())
    assert "no speech found" in errors[str(silent)] and "too short" in errors[str(short)]
    assert "unreadable audio" in errors[str(broken)] and "truncated" in errors[str(truncated)]
    assert "file not found" in errors[str(tmp_path / "missing.wav")]
    alone = subprocess.run(["serbench", "predict", str(note), "--model", str(model)], capture_output=True, text=True)
    assert alone.returncode == 0, alone.stderr


def test_missing_encoder_fails_early_naming_the_key(tmp_path):
    write_config(tmp_path, str(tmp_path / "no-encoder-here"))
    done = snakemake(tmp_path, "all")
    assert done.returncode != 0
    log = (tmp_path / "results/logs/distilhubert/encoder.log").read_text().strip().splitlines()
    assert "set distilhubert.pretrained in config.yaml" in log[-1]
    assert "set distilhubert.pretrained in config.yaml" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "results/distilhubert/embeddings").exists()


def test_finetune_trains_encoder_and_head_end_to_end(tmp_path):
    encoder = save_random_upstream("distilhubert", tmp_path / "tiny-distilhubert", size="tiny")
    write_config(tmp_path, str(encoder), finetune=True, train={"epochs": 2}, extra_train=[], deployed_int8="static")
    done = snakemake(tmp_path, "all")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert not (tmp_path / "results/distilhubert/embeddings").exists()  # nothing cached per utterance
    head = tmp_path / "results/distilhubert/heads/base/fold0/seed0"
    metrics = json.loads((tmp_path / "results/distilhubert/heads/base/fold0.json").read_text())[0]
    assert metrics["finetune"] is True and metrics["cross_corpus"]["n_test"] == 56
    saved = torch.load(head / "head.pt", weights_only=True)
    original = load_upstream(str(encoder))[0].state_dict()
    tuned = saved["encoder_state_dict"]
    assert any(not torch.equal(original[k], tuned[k]) for k in original if k.startswith("encoder.layers."))
    assert "fine-tuned with the head" in (tmp_path / "results/tables/distilhubert_table1.md").read_text()
    int8 = json.loads((tmp_path / "results/distilhubert/onnx/int8.json").read_text())
    assert len(int8["heads"]) == 2 and int8["encoder_int8_static_mb"] < int8["encoder_float_mb"]
    deployed = onnx.load(str(tmp_path / "results/distilhubert/onnx/model.int8.onnx"))
    assert int8["deployed_int8"] == "static" and [  # the whole encoder of the deployed model computes in int8
        n for n in deployed.graph.node if n.op_type == "QuantizeLinear" and "/feature_extractor/" in n.input[0]
    ]
