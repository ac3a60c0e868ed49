"""The quantization study on a synthetic SAVEE copy (no SAVEE copy exists here): needs no shared corpus."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import run_workflow, write_tone

pytestmark = pytest.mark.e2e


def test_savee_copy_runs_the_study_and_reaches_the_literature_table(tmp_path):
    """No SAVEE copy exists here: a synthetic one in the official layout (4 speakers × 7 emotions × 4 takes)."""
    for s, speaker in enumerate(("DC", "JE", "JK", "KL")):
        for e, code in enumerate(("a", "d", "f", "h", "n", "sa", "su")):
            for take in range(1, 5):
                write_tone(
                    tmp_path / "data/savee/AudioData" / speaker / f"{code}{take:02d}.wav",
                    seconds=0.6,
                    freq=140 + 45 * e + 3 * s + take,
                )
    config = {
        "data_root": str(tmp_path / "data"),
        "studies": ["quantization"],
        "quantization": {
            "corpora": ["savee"],
            "seeds": [0],
            "models": ["mlp"],
            "cross_corpus": [],
            "train": {"max_epochs": 5},
            "quantizers": ["uniform"],
            "fixed_bits": [2],
            "qat": {"families": []},
            "curves": {"t_margins": [0.05], "budgets": [2.0], "hessian_samples": 4},
        },
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    done = run_workflow(tmp_path, "--cores", "2", "all")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = pd.read_csv(tmp_path / "results/tables/quantization.csv")
    assert set(summary["dataset"]) == {"savee"} and set(summary["features"]) == {"mfcc_chroma_mel", "egemaps"}
    svm = summary[summary.model == "svm"]  # one fp32 row per feature set and protocol, no quantized variant
    assert len(svm) == 6 and set(svm["variant"]) == {"fp32"} and svm["paper_accuracy"].isna().all()  # 3 protocols
    egemaps = summary[(summary.features == "egemaps") & (summary.model == "mlp")]
    assert (egemaps["n_params"] == 88 * 256 + 256 + 256 * 512 + 512 + 512 * 64 + 64 + 64 * 7 + 7).all()
    assert egemaps["paper_accuracy"].isna().all() and len(egemaps) == len(summary[summary.model == "mlp"]) / 2
    curves = pd.read_csv(tmp_path / "results/tables/allocators.csv")
    assert set(curves["allocator"]) == {"fp32", "importance", "importance_ll", "sensitivity", "hessian", "fit"}
    assert set(curves["features"]) == {"mfcc_chroma_mel", "egemaps"}
    tau = curves.groupby("allocator")["kendall_tau_vs_hessian"].mean()
    assert tau["hessian"] == 1 and tau.drop(["hessian", "fp32"]).notna().all() and np.isnan(tau["fp32"])
    folds = summary[summary.protocol == "speaker_independent"]["n_folds"]
    assert (folds == 4).all()  # leave one speaker out by default
    assert (summary[summary.protocol == "emobox"]["n_folds"] == 4).all()  # EmoBox's SAVEE folds, one speaker each
    overlap = pd.read_csv(tmp_path / "results/tables/speaker_overlap.csv")
    assert sorted(overlap["model"].unique()) == ["mlp", "svm"] and len(overlap) == 4  # × 2 feature sets
    assert (overlap["n_test_emobox"] == overlap["n_test_speaker_folds"]).all()  # both test every utterance once
    literature = (tmp_path / "results/tables/literature.md").read_text()
    savee = literature.split("## SAVEE")[1].split("##")[0]
    assert "TIM-Net" in savee and "serbench mlp adaptive (uniform)" in savee and "[a]" in savee
