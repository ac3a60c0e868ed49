"""The DistilHuBERT study run by Snakemake on real EmoDB, TESS and RAVDESS copies: on the pretrained Whisper tiny.en
with a frozen encoder (as config/offline.yaml runs it), and fine-tuned on a tiny random DistilHuBERT.

Needs SERBENCH_DATA, a folder holding emodb/, tess/ and ravdess/ in their
official layouts (.ci/run sets it to ../shared/data); skipped otherwise. The Whisper runs need the shared Hugging Face
cache (HF_HUB_CACHE, set by conftest.py from ../shared/hf-hub).
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

from conftest import checked_in_config, run_workflow
from serbench.ssl.upstream import load_upstream, save_random_upstream
from serbench.studies.distilhubert.report import speaker_overlap

DATA = os.environ.get("SERBENCH_DATA")
WHISPER = "openai/whisper-tiny.en"
HAS_WHISPER = (Path(os.environ.get("HF_HUB_CACHE", "/nonexistent")) / "models--openai--whisper-tiny.en").is_dir()

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
    """The checked-in ``.test/distilhubert.yaml`` in ``work`` (its corpora linked there), upstream ``pretrained``,
    other ``distilhubert`` keys changed."""
    changes = {"upstreams": [pretrained], **distilhubert}
    return checked_in_config("distilhubert", work / "config.yaml", data_root=str(data_root(work)), distilhubert=changes)


def snakemake(work: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_workflow(work, "--cores", "2", *extra)


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    if not HAS_WHISPER:
        pytest.skip("no Hugging Face cache with openai/whisper-tiny.en (HF_HUB_CACHE)")
    work = tmp_path_factory.mktemp("ssl")
    write_config(work, WHISPER)
    done = snakemake(work, "all")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return work


RESULTS = "results/distilhubert/whisper-tiny-en"


def test_the_emobox_setting_tests_every_four_class_utterance_once_beside_the_speaker_folds(work):
    records = [
        r for path in sorted((work / RESULTS / "heads").glob("*/fold*.json")) for r in json.loads(path.read_text())
    ]
    overlap = speaker_overlap(records).set_index("model")
    assert sorted(overlap.index) == ["head", "logreg"]
    four_class = 127 + 71 + 79 + 62  # EmoDB's anger, happiness, neutral, sadness
    assert (overlap["n_test_emobox"] == four_class).all() and (overlap["n_test_speaker_folds"] == four_class).all()
    gain = overlap.loc["head", "overlap_gain"]
    assert gain == pytest.approx(overlap.loc["head", "ua_emobox"] - overlap.loc["head", "ua_speaker_folds"])
    markdown = (work / "results/tables/distilhubert_table1.md").read_text()
    assert "## Speaker overlap" in markdown and "| whisper-tiny-en | head | emodb | " in markdown


def test_table1_has_both_settings_both_models_per_class_f1_and_says_the_weights_are_pretrained(work):
    table = pd.read_csv(work / "results/tables/distilhubert_table1.csv")
    assert set(table["setting"]) == {"base", "extra", "emobox"} and set(table["upstream"]) == {"whisper-tiny-en"}
    assert set(table["model"]) == {"head", "logreg"}  # the baseline on the same pooled states, same folds
    assert {"accuracy", "uar", "macro_f1", "f1_anger", "f1_happiness", "f1_neutral", "f1_sadness", "cross_uar"} <= set(
        table["metric"]
    )
    production = table["metric"].str.startswith("production_")
    speaker_folds = ~production & (table["setting"] != "emobox")
    assert table["mean"].between(0, 1).all() and (table.loc[speaker_folds, "n_runs"] == 2).all()
    assert (table.loc[table["setting"] == "emobox", "n_runs"] == 5).all()  # EmoBox's five EmoDB folds, no production
    assert {"production_cross_uar", "production_validation_uar"} <= set(table["metric"])
    assert (table.loc[production, "n_runs"] == 1).all()
    chance = table[(table.metric == "cross_chance_uar")]["mean"]
    assert chance.tolist() == pytest.approx([0.25] * len(chance))  # four RAVDESS classes
    markdown = (work / "results/tables/distilhubert_table1.md").read_text()
    assert "pretrained weights" in markdown and "weights are random" not in markdown
    assert "± " in markdown and "gain (points)" in markdown and "logistic regression" in markdown
    runs = pd.read_csv(work / "results/tables/distilhubert_runs.csv", dtype={"config_hash": str})
    assert set(runs["cross_corpus"]) == {"ravdess"}
    assert runs["config_hash"].str.fullmatch(r"[0-9a-f]{12}").all() and runs["serbench_version"].notna().all()
    assert table["config_hash"].nunique() == 1 and set(table["seeds"].astype(str)) == {"0"}
    metrics = json.loads((work / f"{RESULTS}/heads/extra/fold0.json").read_text())[0]
    assert (
        metrics["classes"] == ["anger", "happiness", "neutral", "sadness"] and metrics["upstream"] == "whisper-tiny-en"
    )
    assert metrics["cross_corpus"]["n_test"] == 16 + 16 + 8 + 16  # RAVDESS two actors: angry, happy, neutral, sad
    split = pd.read_csv(work / "results/distilhubert/splits/extra.csv")
    assert set(split.loc[split.corpus == "tess", "subset"]) == {"train"}  # the extra corpus only trains
    production = split[(split.fold == "production") & (split.corpus == "emodb")]
    assert set(production["subset"]) == {"train", "validation"}  # the production model: 95/5 of all of EmoDB
    assert (production["subset"] == "validation").mean() == pytest.approx(0.05, abs=0.01)
    model = json.loads((work / f"{RESULTS}/heads/extra/production.json").read_text())[0]
    assert model["n_test"] == 0 and model["cross_corpus"]["n_test"] == 56 and 0 <= model["validation"]["uar"] <= 1
    assert (work / "results/plots/distilhubert_confusion.png").read_bytes()[:4] == b"\x89PNG"


def test_int8_schemes_measured_and_the_deployed_one_chosen_by_the_measurements(work):
    int8 = json.loads((work / f"{RESULTS}/onnx/int8.json").read_text())
    assert int8["encoder_int8_static_mb"] < int8["encoder_int8_dynamic_mb"] < int8["encoder_int8_dynamic_ffn_float_mb"]
    assert int8["encoder_int8_dynamic_ffn_float_mb"] < int8["encoder_float_mb"]
    assert len(int8["heads"]) == 2 and int8["calibration_utterances"] == 32 and int8["random_init"] is False
    for head in int8["heads"]:
        for kind in ("static", "mixed", "dynamic", "dynamic_ffn_float"):
            assert 0 <= head[f"uar_int8_{kind}"] <= 1 and -1 <= head[f"cosine_int8_{kind}"] <= 1.0 + 1e-6
    latency = json.loads((work / f"{RESULTS}/latency.json").read_text())
    assert 8_000_000 < latency["n_params"] < 9_000_000  # Whisper tiny's encoder + head, its own weights
    runtimes = ("pytorch_float", "onnx_float", "onnx_int8_static", "onnx_int8_mixed")
    for runtime in (*runtimes, "onnx_int8_dynamic", "onnx_int8_dynamic_ffn_float"):
        assert set(latency[f"latency_{runtime}_s"]) == {"1", "2"}
    deployed = json.loads((work / f"{RESULTS}/onnx/deploy.json").read_text())
    choice = deployed["int8"]
    loss = int8["uar_float_mean"] - int8[f"uar_int8_{choice['scheme']}_mean"]
    assert choice["uar_loss"] == pytest.approx(loss)
    if choice["rule_met"]:  # the fastest scheme within 1 point of float ONNX's UA and faster than it
        assert loss <= 0.01 and choice["speedup_vs_onnx_float"] > 1
    assert deployed["head"].endswith("heads/base/production/seed0/head.pt")  # as the paper exported it
    metadata = json.loads(onnx.load(str(work / f"{RESULTS}/onnx/model.int8.onnx")).metadata_props[0].value)
    assert metadata["int8"]["scheme"] == choice["scheme"] and metadata["upstream"] == "whisper-tiny-en"
    assert (metadata["sample_rate"], metadata["max_seconds"], metadata["pre_emphasis"]) == (16000, 8.0, 0.97)
    markdown = (work / "results/tables/distilhubert_int8.md").read_text()
    assert "int8 ONNX, static" in markdown and "PyTorch float32" in markdown and "2 thread(s)" in markdown
    assert f"Deployable `model.int8.onnx`: **{choice['scheme']}** int8" in markdown and "× vs ONNX float" in markdown
    table = pd.read_csv(work / "results/tables/deployment.csv")
    assert set(table["study"]) == {"distilhubert", "emobox (quoted)"}  # EmoBox's EmoDB upstreams beside ours
    deployment = table[table["study"] == "distilhubert"].set_index("variant")
    assert set(deployment.index) == {"float", "int8_static", "int8_mixed", "int8_dynamic", "int8_dynamic_ffn_float"}
    served = deployment["model_file"].dropna()  # what serbench predict serves: the deployed float and int8 models
    assert served.to_dict() == {
        "float": "../distilhubert/whisper-tiny-en/onnx/model.onnx",
        f"int8_{choice['scheme']}": "../distilhubert/whisper-tiny-en/onnx/model.int8.onnx",
    }
    assert (deployment["study"] == "distilhubert").all() and (deployment["weights"] == "pretrained").all()
    assert deployment.at["float", "ua"] == pytest.approx(int8["uar_float_mean"])
    assert deployment.at["int8_dynamic", "bytes"] == round(latency["onnx_int8_dynamic_mb"] * 1e6)
    assert deployment.at["float", "latency_ms"] == pytest.approx(1000 * latency["latency_onnx_float_s"]["1"])
    assert deployment["pareto"].any() and set(deployment["task"]) == {"emodb, 2 speaker folds, 4 classes"}


def _voice_note(path: Path, pieces: list[np.ndarray], rate: int) -> Path:
    silence = np.zeros(rate, dtype=np.float32)
    sf.write(path, np.concatenate([x for p in pieces for x in (p, silence)]), rate)
    return path


def test_predict_long_voice_note_per_window_and_clear_errors(work, tmp_path):
    rate = 48000  # held-out RAVDESS actor 1, angry: its eight clips joined with pauses, about 40 s
    clips = sorted(Path(DATA, "ravdess", "Actor_01").glob("03-01-05-*.flac"))
    speech = [sf.read(p, dtype="float32", always_2d=True)[0].mean(axis=1) for p in clips]
    note = _voice_note(tmp_path / "note.wav", speech, rate)
    silent = _voice_note(tmp_path / "silent.wav", [np.zeros(rate, dtype=np.float32)], rate)
    short, (emodb, emodb_rate) = tmp_path / "short.wav", sf.read(Path(DATA, "emodb", "wav", "03a01Fa.wav"))
    sf.write(short, emodb[int(0.6 * emodb_rate) : int(0.9 * emodb_rate)], emodb_rate)  # 0.3 s of speech
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF0000")
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(note.read_bytes()[: note.stat().st_size // 2])
    model = work / f"{RESULTS}/onnx/model.int8.onnx"
    files = [note, silent, short, broken, truncated, tmp_path / "missing.wav"]
    done = subprocess.run(
        ["serbench", "predict", *map(str, files), "--model", str(model)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1, done.stderr  # some files failed: non-zero, as documented
    lines = done.stdout.strip().splitlines()
    fields = lines[0].split("\t")
    probabilities = dict(field.split("=") for field in fields[2:])
    assert fields[0] == str(note) and list(probabilities) == ["anger", "happiness", "neutral", "sadness"]
    assert fields[1] == max(probabilities, key=lambda c: float(probabilities[c]))  # the label, first
    assert sum(map(float, probabilities.values())) == pytest.approx(1.0, abs=0.005)
    windows = [line for line in lines[1:] if line.startswith("  window")]
    assert len(windows) >= 2  # about 14 s of speech: 8-s windows
    assert all(line.split("\t")[1] in probabilities for line in windows)
    errors = dict(line.split("\terror: ", 1) for line in done.stderr.strip().splitlines() if "\terror: " in line)
    assert "no speech found" in errors[str(silent)] and "too short" in errors[str(short)]
    assert "unreadable audio" in errors[str(broken)] and "truncated" in errors[str(truncated)]
    assert "file not found" in errors[str(tmp_path / "missing.wav")]
    alone = subprocess.run(["serbench", "predict", str(note), "--model", str(model)], capture_output=True, text=True)
    assert alone.returncode == 0, alone.stderr


def test_missing_encoder_fails_early_naming_the_key(tmp_path):
    write_config(tmp_path, str(tmp_path / "no-encoder-here"))
    done = snakemake(tmp_path, "all")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"distilhubert.upstreams: speech encoder folder '{tmp_path / 'no-encoder-here'}' not found")
    assert "set distilhubert.upstreams (--config or your --configfile)" in last
    assert not (tmp_path / "results/logs").exists()  # checked before any job


def test_a_model_without_preprocessing_metadata_is_refused_naming_the_key(tmp_path):
    from serbench.ssl.onnx_export import export_onnx
    from serbench.studies.distilhubert.predict import PredictionError, load_model

    export_onnx(torch.nn.Linear(16, 2), tmp_path / "bare.onnx", seconds=0.001, metadata={"classes": ["a", "b"]})
    with pytest.raises(PredictionError, match="no 'sample_rate' in the model's metadata"):
        load_model(tmp_path / "bare.onnx")


def test_finetune_trains_encoder_and_head_end_to_end(tmp_path):
    encoder = save_random_upstream("distilhubert", tmp_path / "tiny-distilhubert", size="tiny")
    write_config(
        tmp_path,
        str(encoder),
        finetune=True,
        train={"epochs": 2, "learning_rate": 5e-5},
        extra_train=[],
        deployed_int8="static",
    )
    done = snakemake(tmp_path, "all")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = tmp_path / "results/distilhubert/tiny-distilhubert"
    assert not (results / "embeddings").exists()  # nothing cached per utterance
    head = results / "heads/base/fold0/seed0"
    metrics = json.loads((results / "heads/base/fold0.json").read_text())[0]
    assert metrics["finetune"] is True and metrics["cross_corpus"]["n_test"] == 56
    saved = torch.load(head / "head.pt", weights_only=True)
    original = load_upstream(str(encoder)).model.state_dict()
    tuned = saved["encoder_state_dict"]
    assert any(not torch.equal(original[k], tuned[k]) for k in original if k.startswith("encoder.layers."))
    markdown = (tmp_path / "results/tables/distilhubert_table1.md").read_text()
    assert "fine-tuned with the head" in markdown and "weights are random" in markdown
    int8 = json.loads((results / "onnx/int8.json").read_text())
    assert len(int8["heads"]) == 2 and int8["encoder_int8_static_mb"] < int8["encoder_float_mb"]
    choice = json.loads((results / "onnx/deploy.json").read_text())["int8"]
    assert (choice["scheme"], choice["rule_met"]) == ("static", None)  # named in the config, not measured
    assert choice["uar_loss"] == pytest.approx(int8["uar_float_mean"] - int8["uar_int8_static_mean"])
    deployed = onnx.load(str(results / "onnx/model.int8.onnx"))
    assert [  # the whole encoder of the deployed model computes in int8
        n for n in deployed.graph.node if n.op_type == "QuantizeLinear" and "/feature_extractor/" in n.input[0]
    ]
