"""EmoBox's published folds: the shipped table, its builder, and the split over a user's copy of a corpus."""

import json
import logging
import os
from pathlib import Path

import pandas as pd
import pytest

from serbench.corpora import get_adapter
from serbench.corpora.base import audio_files
from serbench.emobox import SHARED_SPEAKERS, covered, emobox_split, fold_count, fold_table
from serbench.emobox.build import build
from serbench.errors import InputError
from serbench.labels import CANONICAL_EMOTIONS
from serbench.settings.names import EMOBOX_CORPORA

# EmoBox's fold files (commit 08280f2): test utterances per fold, and utterances only ever trained on
PUBLISHED = {"emodb": ([107] * 5, 0), "ravdess": ([240] * 6, 0), "savee": ([120] * 4, 0), "tess": ([700], 2100)}
DATA = os.environ.get("SERBENCH_DATA")


@pytest.mark.parametrize("corpus", sorted(PUBLISHED))
def test_shipped_table_has_every_utterance_once_and_each_fold_as_published(corpus):
    rows = fold_table()[fold_table()["corpus"] == corpus]
    assert rows["utterance_id"].is_unique
    tested, train_only = PUBLISHED[corpus]
    assert rows["test_fold"].value_counts().sort_index().tolist() == ([train_only] if train_only else []) + tested
    assert fold_count(corpus) == len(tested)
    assert set(rows["emotion"]) <= set(CANONICAL_EMOTIONS)


def test_the_light_list_of_covered_corpora_matches_the_table():
    assert covered() == sorted(EMOBOX_CORPORA)


def write_fold(root, corpus, k, train, test, label="anger"):
    folder = root / "data" / corpus / f"fold_{k}"
    folder.mkdir(parents=True, exist_ok=True)
    for subset, ids in (("train", train), ("test", test)):
        lines = [json.dumps({"wav": f"downloads/{corpus}/{i}.wav", "emo": label}) for i in ids]
        (folder / f"{corpus}_{subset}_fold_{k}.jsonl").write_text("\n".join(lines) + "\n")


def synthetic_emobox(root, tess_test=("OAF_bite_neutral",)):
    for corpus in ("emodb", "ravdess", "savee"):
        label = {"emodb": "anger", "ravdess": "Angry", "savee": "a"}[corpus]
        write_fold(root, corpus, 1, ["b"], ["a"], label)
        write_fold(root, corpus, 2, ["a"], ["b"], label)
    write_fold(root, "tess", 1, ["OAF_back_angry"], list(tess_test), "neutral")


def test_builder_reads_emobox_fold_files_into_test_folds_and_official_names(tmp_path):
    synthetic_emobox(tmp_path)
    table = build(tmp_path)
    emodb = table[table["corpus"] == "emodb"].set_index("utterance_id")
    assert emodb["test_fold"].to_dict() == {"a": 1, "b": 2} and set(emodb["emotion"]) == {"anger"}
    tess = table[table["corpus"] == "tess"].set_index("utterance_id")["test_fold"].to_dict()
    assert tess == {"OAF_back_angry": 0, "OA_bite_neutral": 1}  # EmoBox's OAF_bite_neutral is the official OA_


def test_builder_rejects_an_utterance_tested_twice_and_an_unknown_label(tmp_path):
    synthetic_emobox(tmp_path)
    write_fold(tmp_path, "savee", 2, [], ["a", "b"], "a")
    with pytest.raises(InputError, match="savee: 1 utterances tested in two folds"):
        build(tmp_path)
    synthetic_emobox(tmp_path)
    write_fold(tmp_path, "emodb", 2, ["a"], ["b"], "joy")
    with pytest.raises(InputError, match=r"emodb_train_fold_2.jsonl: EmoBox labels \['joy'\]"):
        build(tmp_path)


def emodb_copy():
    rows = fold_table()[fold_table()["corpus"] == "emodb"]
    return rows[["utterance_id", "emotion"]].reset_index(drop=True)


def test_split_tests_each_listed_utterance_once_and_validates_from_training_only():
    manifest = emodb_copy()
    folds = emobox_split(manifest, "emodb", seed=0)
    assert sorted(folds["fold"].unique()) == ["0", "1", "2", "3", "4"]
    test = folds[folds["subset"] == "test"]
    assert test["utterance_id"].is_unique and len(test) == len(manifest)
    published = fold_table().set_index("utterance_id")
    assert (test["fold"].astype(int) + 1 == published.loc[test["utterance_id"], "test_fold"].to_numpy()).all()
    for _, fold in folds.groupby("fold"):
        assert fold["utterance_id"].is_unique and len(fold) == len(manifest)
        validation = fold[fold["subset"] == "validation"].merge(manifest, on="utterance_id")
        assert len(validation) == pytest.approx(0.1 * (len(manifest) - 107), abs=1)
        assert validation["emotion"].nunique() == manifest["emotion"].nunique()  # stratified
    assert emobox_split(manifest, "emodb", 0).equals(folds)
    assert not emobox_split(manifest, "emodb", 1).equals(folds)


def test_missing_and_extra_utterances_are_reported_and_left_out(caplog):
    manifest = emodb_copy()
    lost = manifest["utterance_id"].iloc[:3].tolist()
    extra = pd.DataFrame({"utterance_id": ["99x01Wa", "99x02Wa"], "emotion": "anger"})
    copy = pd.concat([manifest.iloc[3:], extra], ignore_index=True)
    with caplog.at_level(logging.WARNING, logger="serbench.emobox"):
        folds = emobox_split(copy, "emodb", seed=0)
    assert (
        f"emodb: 3 utterances of EmoBox's folds are not in this copy and are left out ({', '.join(lost)})"
        in caplog.text
    )
    assert "emodb: 2 utterances of this copy are in no EmoBox fold and are left out (99x01Wa, 99x02Wa)" in caplog.text
    assert set(folds["utterance_id"]) == set(manifest["utterance_id"].iloc[3:])


def test_a_label_other_than_emobox_s_and_an_uncovered_corpus_are_one_line_errors():
    manifest = emodb_copy()
    manifest.loc[0, "emotion"] = "calm" if manifest.loc[0, "emotion"] != "calm" else "anger"
    with pytest.raises(
        InputError,
        match=rf"^emodb: 1 utterances labelled otherwise than in EmoBox, e.g. {manifest.loc[0, 'utterance_id']}",
    ):
        emobox_split(manifest, "emodb", 0)
    with pytest.raises(
        InputError, match="^EmoBox publishes no folds for 'demos' here; it has emodb, ravdess, savee, tess$"
    ):
        emobox_split(manifest, "demos", 0)


@pytest.mark.skipif(not DATA, reason="SERBENCH_DATA is unset: reads the shared EmoDB and TESS")
@pytest.mark.parametrize("corpus, lost", [("emodb", []), ("tess", ["OAF_back_angry", "YAF_beg_sad"])])
def test_the_shared_copies_match_emobox_but_for_their_documented_missing_files(tmp_path, caplog, corpus, lost):
    adapter = get_adapter(corpus)
    labelled = [adapter.parse(path) for path in audio_files(adapter, Path(DATA) / corpus)]
    manifest = pd.DataFrame(
        {"utterance_id": [u.utterance_id for u in labelled], "emotion": [u.emotion for u in labelled]}
    )
    with caplog.at_level(logging.WARNING, logger="serbench.emobox"):
        folds = emobox_split(manifest, corpus, seed=0)
    assert set(folds["utterance_id"]) == set(manifest["utterance_id"])
    if lost:
        assert (
            f"{len(lost)} utterances of EmoBox's folds are not in this copy and are left out ({', '.join(lost)})"
            in caplog.text
        )
    else:
        assert not caplog.records


@pytest.mark.skipif(not os.environ.get("EMOBOX_REPO"), reason="EMOBOX_REPO is unset: a checkout of emo-box/EmoBox")
def test_the_shipped_table_is_what_emobox_s_fold_files_give():
    rebuilt = build(Path(os.environ["EMOBOX_REPO"]))
    pd.testing.assert_frame_equal(rebuilt, fold_table().sort_values(["corpus", "utterance_id"], ignore_index=True))


def test_the_corpora_said_to_share_speakers_are_those_whose_test_folds_hold_training_speakers():
    table = fold_table()
    speaker = {c: get_adapter(c) for c in PUBLISHED}
    table = table.assign(
        speaker=[speaker[c].parse(Path(f"{u}.wav")).speaker for c, u in zip(table.corpus, table.utterance_id)]
    )
    shared = set()
    for corpus, rows in table.groupby("corpus"):
        for fold in range(1, fold_count(corpus) + 1):
            if set(rows.loc[rows.test_fold == fold, "speaker"]) & set(rows.loc[rows.test_fold != fold, "speaker"]):
                shared.add(corpus)
    assert sorted(shared) == sorted(SHARED_SPEAKERS) == ["emodb", "tess"]
