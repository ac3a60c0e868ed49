"""The quantization study's steps run on a synthetic EmoDB-named corpus, with no shared corpus: features, split,
training, the quantize step (packed files whose bytes are measured, every variant scored), the allocator curves and
the SVM, each as its rule calls it."""

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from conftest import write_emodb_tones
from serbench.corpora import build_manifest, get_adapter
from serbench.dataset import CorpusFiles
from serbench.folds import read_folds, write_folds
from serbench.settings import Settings
from serbench.settings.quantization import FeatureExtractionSettings, SVMSettings, TrainSettings
from serbench.settings.steps import AllocatorStepSettings, QuantizeStepSettings
from serbench.studies.quantization.curves import allocator_curves
from serbench.studies.quantization.feature_step import features
from serbench.studies.quantization.quantize_step import quantize_cell
from serbench.studies.quantization.svm import svm_cell
from serbench.studies.quantization.train_step import train_cell

RUN = {"dataset": "emodb", "features": "mfcc_chroma_mel", "protocol": "speaker_independent"}


@pytest.fixture(scope="module")
def cell(tmp_path_factory):
    """Four speakers × four emotions × three texts of tones, each emotion its own pitch; manifest, features and
    leave-one-speaker-out folds (a held-out validation speaker each) of one seed."""
    root = tmp_path_factory.mktemp("synthetic")
    folder = write_emodb_tones(root, ("03", "08", "09", "10"), "WTNF", ("a01", "a02", "b01"), seconds=0.6, step=90)
    manifest, _ = build_manifest(get_adapter("emodb"), folder)
    manifest.to_csv(root / "manifest.csv", index=False)
    cfg = Settings().quantization
    lost = features(str(root / "manifest.csv"), str(root / "utterance.npz"), str(root / "frames.npz"),
                    cfg.features.part(FeatureExtractionSettings))  # fmt: skip
    assert lost is None
    split = {**cfg.speaker_independent.model_dump(), "n_folds": 4}
    write_folds("speaker_independent", {"emodb": str(root / "manifest.csv")}, [0], split, str(root / "split.csv"),
                cfg.search_fraction)  # fmt: skip
    return root


def files(root: Path, level: str) -> dict[str, CorpusFiles]:
    return {"emodb": CorpusFiles(str(root / "manifest.csv"), str(root / f"{level}.npz"))}


def test_folds_hold_out_each_speaker_once_and_set_search_utterances_aside(cell):
    folds = read_folds(cell / "split.csv", seed=0)
    test = folds[folds["subset"] == "test"]
    assert test.groupby("fold")["utterance_id"].apply(lambda ids: {i[:2] for i in ids}).tolist() == [
        {"03"}, {"08"}, {"09"}, {"10"}
    ]  # fmt: skip
    assert set(folds["subset"]) == {"train", "validation", "search", "test"}


@pytest.mark.parametrize("family", ["mlp", "cnn1d"])
def test_train_quantize_and_trace_a_cell_of_each_input_level(cell, tmp_path, family, caplog):
    cfg = Settings().quantization
    level = "utterance" if family == "mlp" else "frames"
    models = tmp_path / "models"
    train_cell(str(cell / "split.csv"), files(cell, level), family, getattr(cfg, family).model_dump(),
               TrainSettings(max_epochs=3, patience=2), cfg.sequences.max_frames, str(models))  # fmt: skip
    runs = sorted(p.relative_to(models).as_posix() for p in models.glob("fold*/seed*/fp32.sbq"))
    assert runs == [f"fold{f}/seed0/fp32.sbq" for f in range(4)]

    step = QuantizeStepSettings.from_params(
        {**cfg.part(QuantizeStepSettings).model_dump(mode="json"), "quantizers": ["uniform"], "fixed_bits": [8, 2]}
        | {"qat": {**cfg.qat.model_dump(mode="json"), "epochs": 2}}
    )
    metrics = tmp_path / "metrics.json"
    quantize_cell(str(models), str(cell / "split.csv"), files(cell, level), step, 32, cfg.sequences.max_frames,
                  RUN | {"model": family}, str(tmp_path / "packed"), str(metrics))  # fmt: skip
    records = json.loads(metrics.read_text())
    variants = {r["variant"] for r in records}
    control = {"fp32+ft"} if family in step.qat.families else set()  # QAT's fine-tuned float32 control
    assert variants == {"fp32", *control, *step.variants(family, "uniform")}
    assert len(records) == len(variants) * 4  # every variant of every fold
    for record in records:
        assert len(record["test_correct"]) == record["n_test"] == 12  # one speaker's 4 emotions × 3 texts
        run = tmp_path / "packed" / f"fold{record['fold']}" / f"seed{record['seed']}"
        folder = run if record["quantizer"] == "none" else run / record["quantizer"]
        assert record["model_file"] == str(folder / f"{record['variant']}.sbq")
        assert Path(record["model_file"]).stat().st_size == record["file_bytes"]  # the bytes of the file on disk
    fixed = {r["variant"]: r["file_bytes"] for r in records if r["fold"] == "0" and r["seed"] == 0}
    assert fixed["fixed2"] < fixed["fixed8"] < fixed["fp32"]  # bytes measured on the packed files

    curves = AllocatorStepSettings.from_params(
        {**cfg.part(AllocatorStepSettings).model_dump(mode="json"), "quantizers": ["uniform"]}
        | {"curves": {**cfg.curves.model_dump(mode="json"), "t_margins": [0.1], "budgets": [2.0, 4.0]}}
    )
    points = tmp_path / "curves.json"
    allocator_curves(str(models), str(cell / "split.csv"), files(cell, level), curves, cfg.sequences.max_frames,
                     RUN | {"model": family}, str(points))  # fmt: skip
    found = json.loads(points.read_text())
    per_run = {(a, v) for a, v in ((r["allocator"], r["value"]) for r in found if r["fold"] == "1")}
    assert {a for a, _ in per_run} == {"fp32", "importance", "importance_ll", "sensitivity", "hessian", "fit"}
    assert len(per_run) == 1 + 2 * 1 + 3 * 2  # fp32; two importance curves × 1 T_margin; three × 2 budgets
    budget_points = [r for r in found if r["knob"] == "budget"]
    assert all(r["avg_bits"] <= r["value"] + 1e-9 for r in budget_points)  # b̄ within each budget

    reused = tmp_path / "curves_reused.json"  # as the rule runs it: the quantize step's test results read back
    with caplog.at_level(logging.INFO, logger="serbench.studies.quantization.curves"):
        allocator_curves(str(models), str(cell / "split.csv"), files(cell, level), curves, cfg.sequences.max_frames,
                         RUN | {"model": family}, str(reused), quantized_metrics=str(metrics))  # fmt: skip
    assert json.loads(reused.read_text()) == found  # the same records, each point's test result included
    taken = [int(m.split(" test scores")[0].rsplit(" ", 1)[1]) for m in caplog.messages if "test scores from" in m]
    assert len(taken) == 4 and min(taken) >= 1  # every run took at least the float model's result


def test_the_svm_scores_every_fold_and_seed(cell, tmp_path):
    out = tmp_path / "svm.json"
    svm_cell(str(cell / "split.csv"), files(cell, "utterance"), SVMSettings(c=[1.0]), RUN, str(out))
    records = json.loads(out.read_text())
    assert sorted((r["fold"], r["seed"]) for r in records) == [(str(f), 0) for f in range(4)]
    assert np.mean([r["accuracy"] for r in records]) > 0.25  # four pitches, four classes: above chance
