import json
import re

import numpy as np
import pandas as pd
import pytest
from run_records import run, summary

from serbench.step_files import DamagedFileError
from serbench.studies.quantization.literature import literature_markdown
from serbench.studies.quantization.markdown import classes_note, to_markdown
from serbench.studies.quantization.pooling import PER_UTTERANCE, paired_differences, split_records, utterance_results
from serbench.studies.quantization.tables import (
    RUN_COLUMNS,
    TableFiles,
    allocator_comparison,
    read_runs,
    write_tables,
)


def test_summary_means_stds_order_and_paper_column():
    records = [
        run(v, s, c)
        for v, s, c in [
            ("adaptive", 0, 35),
            ("fp32", 0, 30),
            ("fp32", 1, 40),
            ("fixed2", 0, 25),
            ("adaptive", 1, 35),
            ("fixed2", 1, 25),
            ("sensitivity", 0, 30),
            ("fixed2+qat", 0, 36),
        ]
    ]
    runs = read_runs(records)
    assert list(runs.columns) == [*RUN_COLUMNS, "model_file"] and len(runs) == 8
    table = summary(records)
    assert table["variant"].tolist() == ["fp32", "fixed2", "adaptive", "sensitivity", "fixed2+qat"]
    assert table["allocator"].tolist() == ["", "fixed", "importance", "sensitivity", "fixed"]
    assert table["qat"].tolist() == [False, False, False, False, True]
    fp32 = table.iloc[0]
    assert fp32["accuracy"] == pytest.approx(0.7) and fp32["accuracy_seed_std"] == pytest.approx(0.141421, abs=1e-5)
    assert fp32["n_runs"] == 2 and fp32["n_seeds"] == 2 and fp32["n_folds"] == 1
    assert fp32["n_test"] == 50 and fp32["n_speakers_test"] == 5  # distinct utterances: both seeds test the same
    assert fp32["file_bytes"] == 500  # mean of 500 and 501, rounded half to even
    assert fp32["model_file"] == "packed/fold0/seed0/fp32.sbq"  # the first run's file: one predict can serve
    assert fp32["paper_accuracy"] == pytest.approx(0.7407) and table.iloc[2]["paper_accuracy"] == pytest.approx(0.7593)
    assert fp32["seeds"] == "0 1" and fp32["git_commit"] == "abc123" and fp32["serbench_version"] == "0.1.0"
    adaptive = table.set_index("variant").loc["adaptive"]
    assert adaptive["delta_vs_fp32"] == pytest.approx(0.0)  # +0.1 on seed 0, -0.1 on seed 1
    t_half = 12.7062 * 0.1  # t(0.975, 1 df) × the standard error of the two per-seed deltas
    assert adaptive["delta_vs_fp32_ci95_seeds_low"] == pytest.approx(-t_half, abs=1e-4)
    low, high = adaptive["delta_vs_fp32_ci95_seeds_units_low"], adaptive["delta_vs_fp32_ci95_seeds_units_high"]
    assert -0.2 < low < 0 < high < 0.2
    sensitivity = table.set_index("variant").loc["sensitivity"]
    assert np.isnan(sensitivity["delta_vs_fp32_ci95_seeds_low"])  # one seed: no interval over seeds
    assert sensitivity["delta_vs_fp32_ci95_seeds_units_low"] == 0  # seed 0 alone: the same utterances right
    markdown = to_markdown(table)
    assert "| 70.00 [" in markdown and "74.07" in markdown and "| -20.00 [" in markdown


def test_folds_and_seeds_are_pooled_before_pairing():
    # seed 0: fold 0 has 10 utterances, fold 1 has 90; fp32 gets 5 + 45, fixed2 gets 10 + 36; seed 1: 50 vs 50
    records = [
        run("fp32", 0, 5, "0", 10),
        run("fp32", 0, 45, "1", 90),
        run("fixed2", 0, 10, "0", 10),
        run("fixed2", 0, 36, "1", 90),
        run("fp32", 1, 50, "0", 100),
        run("fixed2", 1, 50, "0", 100),
    ]
    deltas = paired_differences(
        utterance_results(records), "fp32", ["dataset", "features", "model", "protocol"], "delta"
    )
    assert deltas.set_index("variant").loc["fixed2", "delta"] == pytest.approx((46 - 50) / 200)
    table = summary(records).set_index("variant")
    assert table.loc["fp32", "accuracy"] == pytest.approx(100 / 200)
    assert table.loc["fp32", "n_test"] == 190  # distinct utterances: seed 1 tests 90 that seed 0 does not


def test_speakers_are_the_test_units_outside_the_random_split():
    records = [{**run(v, s, c, speakers=2), "protocol": "speaker_independent"} for v, s, c in [("fp32", 0, 30)]]
    units = utterance_results(records)
    assert sorted(units["unit"].unique()) == ["emodb/0", "emodb/1"]
    assert units["correct"].sum() == 30 and len(units) == 50


def test_records_read_once_leave_their_utterance_lists_behind_as_categorical_codes():
    records = [run("fp32", 0, 30), run("fixed2", 0, 25, fold="1", speakers=3)]
    runs, units = split_records(iter(records))
    assert [sorted(set(PER_UTTERANCE) & set(r)) for r in runs] == [[], []] and runs[1]["fold"] == "1"
    pd.testing.assert_frame_equal(units, utterance_results(records))
    assert {units[c].dtype.name for c in ("dataset", "variant", "utterance", "speaker", "unit")} == {"category"}
    assert units.groupby("variant", observed=True)["correct"].sum().to_dict() == {"fp32": 30, "fixed2": 25}
    assert units["utterance"].tolist() == [*records[0]["test_utterances"], *records[1]["test_utterances"]]


def test_allocators_are_compared_on_the_same_runs_within_a_quantizer():
    # seed 0: sensitivity 40 vs adaptive 35 correct of 50; seed 1: 30 vs 35; a ternary row must not pair with these
    records = [
        run("adaptive", 0, 35),
        run("sensitivity", 0, 40),
        run("adaptive", 1, 35),
        run("sensitivity", 1, 30),
        run("adaptive", 0, 10, quantizer="ternary"),
    ]
    comparison = allocator_comparison(utterance_results(records), read_runs(records)).set_index("quantizer")
    assert comparison.loc["uniform", "comparison"] == "sensitivity − adaptive"
    assert comparison.loc["uniform", "delta"] == pytest.approx(0.0)
    assert -0.2 < comparison.loc["uniform", "low"] < 0 < comparison.loc["uniform", "high"] < 0.2
    assert comparison.loc["uniform", "bits_sensitivity"] == 1.4 and comparison.loc["uniform", "bits_importance"] == 1.5
    assert "ternary" not in comparison.index  # no sensitivity row to pair with


def test_damaged_metrics_file_is_named_with_its_rebuild_command(tmp_path):
    (tmp_path / "good.json").write_text(json.dumps([run("fp32", 0, 30), run("fixed2", 0, 25)]))
    (tmp_path / "bad.json").write_text("[{")
    outputs = TableFiles(*(str(tmp_path / name) for name in ("runs.csv", "t.csv", "t.md", "lit.md", "o.csv")))
    with pytest.raises(
        DamagedFileError, match=r"bad\.json: damaged metrics file .*snakemake --cores 1 --force .*bad\.json"
    ):
        write_tables([str(tmp_path / "good.json"), str(tmp_path / "bad.json")], {}, outputs)
    write_tables([str(tmp_path / "good.json")], {}, outputs, config_hash="0123456789ab")
    assert pd.read_csv(outputs.csv)["config_hash"].tolist() == ["0123456789ab"] * 2


def test_literature_table_footnotes_the_paper_and_counts_runs_in_words():
    table = summary([run(v, s, 30) for v in ("fp32", "adaptive") for s in (0, 1)])
    markdown = literature_markdown(table)
    assert "Proposed (Shinde et al.) [a, b]" in markdown and "211,207 parameters" in markdown
    assert "4.06" in markdown and "99.6 %" in markdown and "97.86 % at 4-bit" in markdown
    assert "this run (2 seeds × 1 fold)" in markdown and "runs)" not in markdown
    assert "211K × 32" not in markdown and "| 32 " in markdown


def test_emobox_s_published_upstreams_are_quoted_beside_our_models_on_its_folds_only():
    random = summary([run("fp32", s, 30) for s in (0, 1)])
    assert "on EmoBox's folds" not in literature_markdown(random)
    on_emobox = summary([run("fp32", s, 30) | {"protocol": "emobox"} for s in (0, 1)])
    section = literature_markdown(on_emobox).split("## EmoDB on EmoBox's folds")[1]
    assert re.search(r"\| WavLM large +\| quoted +\| 92.58 +\| 92.67 +\|", section)  # Ma et al. 2024, Table 4
    assert section.count("| quoted ") == 10 and section.count("| measured ") == 1
    assert re.search(r"\| serbench mlp, mfcc_chroma_mel +\| measured +\| 50.00 ± 0.00 +\| 60.00 +\|", section)


def test_literature_rows_with_another_class_set_than_the_papers_say_so_beside_it():
    emotions = "anger boredom disgust fear happiness neutral sadness"
    seven = summary([run(v, s, 30) | {"classes": emotions} for v in ("fp32", "adaptive") for s in (0, 1)])
    assert "not comparable one to one" not in literature_markdown(seven)
    six = seven.assign(classes=" ".join(emotions.split()[:6]))
    markdown = literature_markdown(six)
    emodb = markdown.split("## EmoDB")[1].split("## ")[0]
    assert "This run's rows with 6 classes (" in emodb and "published 7-class figures" in emodb


@pytest.mark.parametrize(
    "content, reason",
    [
        ("[]", "not a non-empty list of run records"),
        ('{"a": 1}', "not a non-empty list of run records"),
        ('[{"dataset": "emodb"}]', "run record 0 lacks features, protocol, model"),
    ],
)
def test_a_metrics_file_of_the_wrong_shape_is_one_error_naming_it(tmp_path, content, reason):
    metrics = tmp_path / "metrics.json"
    metrics.write_text(content)
    outputs = TableFiles(*(str(tmp_path / n) for n in ("runs.csv", "summary.csv", "table.md", "lit.md", "o.csv")))
    with pytest.raises(DamagedFileError, match=rf"^{re.escape(str(metrics))}: damaged metrics file \({reason}"):
        write_tables([str(metrics)], {}, outputs)


def test_cross_corpus_rows_name_the_emotions_they_keep():
    table = summary(
        [run("fp32", 0, 40)]
        + [
            {
                **run("fp32", 0, 30),
                "dataset": "emodb_to_ravdess",
                "protocol": "cross_corpus",
                "classes": "anger sadness",
            }
        ]
    )
    assert table.set_index("dataset").loc["emodb_to_ravdess", "classes"] == "anger sadness"
    assert classes_note(table) == (
        "\nCross-corpus rows keep the emotions both sides hold, the others are left out: "
        "emodb_to_ravdess: 2 (anger, sadness).\n"
    )
    assert classes_note(table[table.protocol == "random"]) == ""


def test_qat_rows_are_also_measured_against_the_same_fine_tuning_without_a_quantizer():
    correct = {"fp32": (40, 41), "fp32+ft": (44, 45), "fixed2": (30, 30), "fixed2+qat": (46, 46)}
    records = [run(v, seed, c[seed]) for v, c in correct.items() for seed in (0, 1)]
    table = summary(records).set_index("variant")
    assert table.index.tolist() == ["fp32", "fp32+ft", "fixed2", "fixed2+qat"]
    assert table.loc["fixed2+qat", "delta_vs_fp32"] == pytest.approx((6 + 5) / 2 / 50)
    assert table.loc["fixed2+qat", "delta_vs_ft"] == pytest.approx((2 + 1) / 2 / 50)  # what the quantizer adds
    assert table.loc["fp32+ft", "delta_vs_fp32"] == pytest.approx(4 / 50)  # what the extra training adds
    assert table.loc[["fp32", "fp32+ft", "fixed2"], "delta_vs_ft"].isna().all()
    markdown = to_markdown(summary(records)).splitlines()
    assert "Δ WA vs fp32+ft, points [95% CI]" in markdown[0]
    assert "| 3.00 [" in next(line for line in markdown if "fixed2+qat" in line)
