import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from serbench.corpora import build_manifest, get_adapter
from serbench.errors import InputError
from serbench.labels import shared_emotions
from serbench.protocols import (
    cross_corpus_split,
    production_split,
    random_split,
    speaker_folds,
    speaker_independent_split,
)

EMOTIONS = ["anger", "sadness", "neutral", "happiness"]


def synthetic_manifest(speakers, per_speaker=20, emotions=EMOTIONS, prefix=""):
    rows = [
        {"utterance_id": f"{prefix}{s}_{i:03d}", "speaker": s, "emotion": emotions[i % len(emotions)]}
        for s in speakers
        for i in range(per_speaker)
    ]
    return pd.DataFrame(rows)


@pytest.fixture
def manifest():
    emotions = ["anger"] * 50 + ["sadness"] * 30 + ["neutral"] * 20
    return pd.DataFrame({"utterance_id": [f"u{i:03d}" for i in range(100)], "emotion": emotions})


def test_random_split_is_80_10_10_disjoint_and_stratified(manifest):
    folds = random_split(manifest, "c", seed=0)
    assert folds["subset"].value_counts().to_dict() == {"train": 80, "validation": 10, "test": 10}
    assert folds["utterance_id"].is_unique and set(folds["utterance_id"]) == set(manifest["utterance_id"])
    assert set(folds["corpus"]) == {"c"} and set(folds["fold"]) == {"0"}
    labelled = folds.merge(manifest, on="utterance_id")
    test_counts = labelled[labelled.subset == "test"]["emotion"].value_counts().to_dict()
    assert test_counts == {"anger": 5, "sadness": 3, "neutral": 2}


def test_random_split_depends_on_seed_only(manifest):
    assert random_split(manifest, "c", 3).equals(random_split(manifest, "c", 3))
    assert not random_split(manifest, "c", 3).equals(random_split(manifest, "c", 4))


def test_bad_fractions_rejected(manifest):
    with pytest.raises(ValueError, match="fractions"):
        random_split(manifest, "c", 0, 0.6, 0.5)


@pytest.mark.parametrize("split, needed", [(random_split, 3), (production_split, 2)])
def test_an_emotion_too_small_for_the_split_is_named_in_one_line(manifest, split, needed):
    small = pd.concat([manifest, pd.DataFrame({"utterance_id": ["x1"], "emotion": ["boredom"]})], ignore_index=True)
    with pytest.raises(InputError, match=f"^c: emotion 'boredom' has 1 utterance.* at least {needed} per emotion"):
        split(small, "c", 0)
    enough = pd.DataFrame({"utterance_id": [f"x{i}" for i in range(needed)], "emotion": "boredom"})
    assert split(pd.concat([manifest, enough], ignore_index=True), "c", 0)["utterance_id"].str.startswith("x").sum()


def test_production_split_trains_on_all_but_a_stratified_validation_share_and_tests_nothing(manifest):
    folds = production_split(manifest, "c", seed=0, validation_fraction=0.1)
    assert folds["subset"].value_counts().to_dict() == {"train": 90, "validation": 10}
    assert folds["utterance_id"].is_unique and set(folds["utterance_id"]) == set(manifest["utterance_id"])
    assert set(folds["fold"]) == {"production"}
    labelled = folds.merge(manifest, on="utterance_id")
    assert labelled[labelled.subset == "validation"]["emotion"].value_counts().to_dict() == {
        "anger": 5,
        "sadness": 3,
        "neutral": 2,
    }
    assert not production_split(manifest, "c", 0, 0.1).equals(production_split(manifest, "c", 1, 0.1))
    with pytest.raises(ValueError, match="fractions"):
        production_split(manifest, "c", 0, 1.0)


def test_speaker_folds_group_sorted_speakers():
    assert speaker_folds([f"{a:02d}" for a in range(24, 0, -1)], 6)[0] == ["01", "02", "03", "04"]
    with pytest.raises(ValueError, match="at least 10 speakers"):
        speaker_folds(["01", "02"], 10)


def assert_speaker_disjoint(folds, manifest, three_way=True):
    speaker_of = dict(zip(manifest["utterance_id"], manifest["speaker"]))
    for fold, rows in folds.groupby("fold"):
        speakers = {
            s: set(rows.loc[rows.subset == s, "utterance_id"].map(speaker_of)) for s in ("train", "validation", "test")
        }
        assert speakers["test"].isdisjoint(speakers["train"] | speakers["validation"]), fold
        if three_way:
            assert speakers["train"].isdisjoint(speakers["validation"]), fold
        assert rows["utterance_id"].is_unique
        assert set(rows["utterance_id"]) == set(manifest["utterance_id"]), fold  # every utterance used once per fold


@pytest.mark.parametrize("n_speakers, n_folds", [(10, 10), (24, 6), (5, 5)])
def test_speaker_independent_folds_never_share_a_speaker(n_speakers, n_folds):
    manifest = synthetic_manifest([f"{s:02d}" for s in range(1, n_speakers + 1)])
    folds = speaker_independent_split(manifest, "c", n_folds, seed=1)
    assert sorted(folds["fold"].unique(), key=int) == [str(k) for k in range(n_folds)]
    assert_speaker_disjoint(folds, manifest)
    tested = folds[folds.subset == "test"]
    assert tested["utterance_id"].is_unique and len(tested) == len(manifest)  # each utterance tested exactly once


def test_two_speaker_corpus_holds_out_the_test_speaker_and_validates_within_the_other():
    manifest = synthetic_manifest(["OAF", "YAF"], per_speaker=40)
    folds = speaker_independent_split(manifest, "tess", 2, seed=0)
    assert_speaker_disjoint(folds, manifest, three_way=False)
    for _, rows in folds.groupby("fold"):
        assert (rows.subset == "validation").sum() == 4  # stratified 10 % of the 40 training utterances


def test_validation_speaker_depends_on_seed():
    manifest = synthetic_manifest([f"{s:02d}" for s in range(1, 11)])
    picks = {
        tuple(speaker_independent_split(manifest, "c", 10, seed=s).query("subset == 'validation'")["utterance_id"])
        for s in range(4)
    }
    assert len(picks) > 1


@pytest.mark.skipif(not os.environ.get("SERBENCH_DATA"), reason="SERBENCH_DATA is unset")
def test_real_emodb_leave_one_speaker_out_is_speaker_disjoint():
    manifest, _ = build_manifest(get_adapter("emodb"), Path(os.environ["SERBENCH_DATA"], "emodb"))
    folds = speaker_independent_split(manifest, "emodb", 10, seed=0)
    assert_speaker_disjoint(folds, manifest)
    assert (
        folds.groupby("fold").apply(lambda r: r.loc[r.subset == "test", "utterance_id"].str[:2].nunique()).eq(1).all()
    )


def test_cross_corpus_keeps_shared_emotions_and_tests_on_the_other_corpus():
    source = synthetic_manifest(["03", "08", "09"], emotions=["anger", "boredom", "neutral"], prefix="e")
    target = synthetic_manifest(["01", "02"], emotions=["anger", "calm", "neutral"], prefix="r")
    folds = cross_corpus_split({"emodb": source, "ravdess": target}, ["emodb"], "ravdess", seed=0)
    kept = pd.concat([source, target]).set_index("utterance_id").loc[folds["utterance_id"], "emotion"]
    assert set(kept) == {"anger", "neutral"}
    assert set(folds.loc[folds.subset == "test", "corpus"]) == {"ravdess"}
    assert set(folds.loc[folds.subset != "test", "corpus"]) == {"emodb"}
    assert (folds.subset == "test").sum() == 2 * 13  # per speaker, i in 0..19 with i % 3 in {0, 2}: 7 + 6
    with pytest.raises(ValueError, match="also a training corpus"):
        cross_corpus_split({"emodb": source}, ["emodb"], "emodb", seed=0)


def test_shared_emotions_needs_an_overlap():
    with pytest.raises(ValueError, match="share no emotion"):
        shared_emotions([{"anger"}, {"calm"}])


def _demos_like_manifest() -> pd.DataFrame:
    speakers = ["f01", "f02", "m03", "m04", "m05", "f06"]
    emotions = ["anger", "guilt", "neutral"]
    rows = [
        {"utterance_id": f"{s}_{e}_{k}", "speaker": s, "emotion": e}
        for s in speakers
        for e in emotions
        for k in range(2)
    ]
    return pd.DataFrame(rows)


def test_fixed_speaker_split_follows_the_lists_and_reports_unlisted_speakers(caplog):
    from serbench.protocols import fixed_speaker_split

    manifest = _demos_like_manifest()
    lists = {"train": ["f01", "m03", "m04"], "validation": ["f02"], "test": ["m05"]}
    folds = fixed_speaker_split(manifest, "demos", lists)
    speaker = dict(zip(manifest["utterance_id"], manifest["speaker"]))
    by_subset = folds.groupby("subset")["utterance_id"].apply(lambda ids: {speaker[u] for u in ids}).to_dict()
    assert by_subset == {"train": {"f01", "m03", "m04"}, "validation": {"f02"}, "test": {"m05"}}
    assert set(folds["fold"]) == {"0"} and len(folds) == 5 * 6
    assert "f06" in caplog.text  # the unlisted speaker is left out and said so


@pytest.mark.parametrize(
    "lists, message",
    [
        ({"train": ["f01", "m03"], "validation": ["m03"], "test": ["m05"]}, r"more than one subset.*m03"),
        ({"train": ["f01"], "validation": ["f02"], "test": ["x99"]}, r"not in the manifest.*x99"),
        ({"train": ["f01"], "test": ["m05"]}, r"lack \['validation'\]"),
    ],
)
def test_fixed_speaker_split_rejects_overlap_unknown_and_missing_lists(lists, message):
    from serbench.protocols import fixed_speaker_split

    with pytest.raises(ValueError, match=message):
        fixed_speaker_split(_demos_like_manifest(), "demos", lists)


def test_split_step_drops_excluded_emotions_before_splitting(tmp_path):
    from serbench.folds import read_folds, write_folds

    manifest = _demos_like_manifest().assign(
        path="x.wav", gender="f", native_label="x", session="", duration_s=1.0, sample_rate=16000
    )
    manifest.to_csv(tmp_path / "demos.csv", index=False)
    lists = {"train": ["f01", "m03", "m04", "f06"], "validation": ["f02"], "test": ["m05"]}
    write_folds(
        "fixed_speakers",
        {"demos": str(tmp_path / "demos.csv")},
        [0, 3],
        {"speakers": lists, "exclude_emotions": ["neutral"]},
        str(tmp_path / "split.csv"),
    )
    folds = read_folds(tmp_path / "split.csv")
    assert len(folds) == 2 * 6 * 2 * 2 and not folds["utterance_id"].str.contains("neutral").any()
    assert (
        read_folds(tmp_path / "split.csv", seed=3)
        .drop(columns="seed")
        .reset_index(drop=True)
        .equals(read_folds(tmp_path / "split.csv", seed=0).drop(columns="seed").reset_index(drop=True))
    )  # no seed in fixed lists
    with pytest.raises(ValueError, match="no folds for seed 1"):
        read_folds(tmp_path / "split.csv", seed=1)


def test_search_subset_is_a_stratified_share_of_validation_disjoint_from_it(tmp_path):
    from serbench.folds import read_folds, write_folds

    manifest = synthetic_manifest(
        [f"{s:02d}" for s in range(1, 11)], emotions=["anger", "boredom", "neutral"], prefix="e"
    )
    manifest.assign(
        path="x.wav", gender="m", native_label="x", session=manifest["speaker"], duration_s=1.0, sample_rate=16000
    ).to_csv(tmp_path / "m.csv", index=False)
    write_folds("random", {"emodb": str(tmp_path / "m.csv")}, [0, 1], {}, str(tmp_path / "plain.csv"))
    write_folds("random", {"emodb": str(tmp_path / "m.csv")}, [0, 1], {}, str(tmp_path / "split.csv"), 0.5)
    plain, folds = read_folds(tmp_path / "plain.csv"), read_folds(tmp_path / "split.csv")
    for seed in (0, 1):
        before, after = plain[plain.seed == seed], folds[folds.seed == seed]
        validation = set(before.loc[before.subset == "validation", "utterance_id"])
        kept = set(after.loc[after.subset == "validation", "utterance_id"])
        search = set(after.loc[after.subset == "search", "utterance_id"])
        assert kept | search == validation and not kept & search and abs(len(kept) - len(search)) <= 3
        for subset in ("train", "test"):  # nothing else moves
            assert set(before.loc[before.subset == subset, "utterance_id"]) == set(
                after.loc[after.subset == subset, "utterance_id"]
            )
        emotion = dict(zip(manifest["utterance_id"], manifest["emotion"]))
        assert {emotion[u] for u in search} == {emotion[u] for u in kept} == {"anger", "boredom", "neutral"}


def test_a_two_speaker_training_corpus_validates_on_a_share_not_a_held_out_speaker():
    tess = synthetic_manifest(["OAF", "YAF"], per_speaker=40, emotions=["anger", "neutral"], prefix="t")
    ravdess = synthetic_manifest(["01", "02"], emotions=["anger", "neutral"], prefix="r")
    folds = cross_corpus_split({"tess": tess, "ravdess": ravdess}, ["tess"], "ravdess", seed=0)
    speaker = dict(zip(tess["utterance_id"], tess["speaker"]))
    for subset in ("train", "validation"):
        assert {speaker[u] for u in folds.loc[folds.subset == subset, "utterance_id"]} == {"OAF", "YAF"}
    assert (folds.subset == "validation").sum() == 8  # 10 % of 80, stratified


def test_a_validation_subset_without_some_class_is_logged(tmp_path, caplog):
    from serbench.cache import save_rows
    from serbench.corpora.base import MANIFEST_COLUMNS
    from serbench.dataset import CorpusArrays, CorpusFiles

    manifest = tmp_path / "c.csv"
    ids = ["a", "b", "c", "d"]
    rows = pd.DataFrame({"utterance_id": ids, "emotion": ["anger", "sadness", "fear", "anger"]})
    rows.reindex(columns=MANIFEST_COLUMNS).assign(speaker="s").to_csv(manifest, index=False)
    save_rows(tmp_path / "c.npz", ids, np.eye(4, dtype=np.float32))
    folds = pd.DataFrame({"fold": "0", "corpus": "c", "utterance_id": ids, "subset": ["train"] * 3 + ["validation"]})
    folds.loc[2, "subset"] = "test"
    CorpusArrays({"c": CorpusFiles(manifest, tmp_path / "c.npz")}).split(folds, "0", "split.csv")
    assert "split.csv: fold 0: its validation subset (1 utterances) holds no fear, sadness utterance" in caplog.text


def test_the_cell_jobs_read_fold_tables_without_importing_scikit_learn():
    steps = [f"serbench.studies.quantization.{step}" for step in ("train_step", "quantize_step", "curves")]
    code = f"import sys, {', '.join(steps)}; print('sklearn' in sys.modules)"  # the protocols import it to draw
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
