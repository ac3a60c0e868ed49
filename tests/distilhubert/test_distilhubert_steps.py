"""The DistilHuBERT study's steps on a synthetic EmoDB-named corpus and a small random encoder, with no shared corpus
or pretrained weights: waveforms, pooled states, speaker folds, and one fold's head and baseline as the rule trains
them."""

import json

import numpy as np
import pytest

from conftest import write_emodb_tones
from serbench.cache import load_rows, save_ragged
from serbench.corpora import build_manifest, get_adapter, read_manifest
from serbench.dataset import CorpusFiles
from serbench.folds import read_folds
from serbench.settings import Settings
from serbench.settings.names import Fold
from serbench.ssl.upstream import UpstreamChoice, save_random_upstream
from serbench.ssl.waveforms import prepare_corpus
from serbench.studies.distilhubert.folds import write_split
from serbench.studies.distilhubert.steps import embeddings, head_path, train_fold


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Four speakers × the four study classes × three texts; manifest, prepared waveforms, a tiny encoder's states."""
    root = tmp_path_factory.mktemp("synthetic")
    folder = write_emodb_tones(root, ("03", "08", "09", "10"), "WTNF", ("a01", "a02", "b01"), seconds=1.0, step=120)
    manifest, _ = build_manifest(get_adapter("emodb"), folder)
    manifest.to_csv(root / "manifest.csv", index=False)
    ids, waveforms = prepare_corpus(read_manifest(root / "manifest.csv"), Settings().waveform)
    save_ragged(root / "waveforms.npz", ids, waveforms)
    encoder = str(save_random_upstream("distilhubert", root / "encoder", size="tiny"))
    augment = Settings().distilhubert.augment
    embeddings(str(root / "waveforms.npz"), encoder, "clip", 1, augment, 0, str(root / "states.npz"))
    return root


def test_pooled_states_hold_a_clean_and_an_augmented_view_of_every_layer(corpus):
    ids, states = load_rows(corpus / "states.npz")
    assert len(ids) == 48 and states.shape == (48, 2, 3, 32)  # utterances, views, CNN + 2 layers, hidden
    assert not np.allclose(states[:, 0], states[:, 1])  # the augmented view differs from the clean one


def test_a_fold_trains_the_head_and_its_baseline_and_lists_every_test_utterance(corpus, tmp_path):
    split = tmp_path / "split.csv"
    write_split("emodb", {"emodb": str(corpus / "manifest.csv")}, [], "four_class", [0, 1], str(split), 4, "speaker")
    cfg = Settings().distilhubert.model_copy(
        update={"finetune": False, "cross_corpus_test": None, "train": Settings().distilhubert.train.model_copy(
            update={"epochs": 3, "learning_rate": 1e-3})}
    )  # fmt: skip
    files = {"emodb": CorpusFiles(str(corpus / "manifest.csv"), str(corpus / "states.npz"))}
    metrics = tmp_path / "fold1.json"
    run = {"dataset": "emodb", "setting": "base"}
    train_fold(str(split), "1", files, None, cfg, UpstreamChoice("tiny"), run, str(tmp_path / "fold1"), str(metrics))
    records = json.loads(metrics.read_text())
    assert sorted((r["model"], r["seed"]) for r in records) == [("head", 0), ("head", 1), ("logreg", 0), ("logreg", 1)]
    for record in records:
        assert record["n_test"] == 12 and {s[-2:] for s in record["test_speakers"]} == {"08"}  # fold 1: speaker 08
        assert len(record["test_correct"]) == 12 and sorted(set(record["test_emotions"])) == record["classes"]
        assert record["accuracy"] == pytest.approx(record["test_correct"].count("1") / 12)
    assert head_path(tmp_path / "fold1", 0).is_file() and head_path(tmp_path / "fold1", 1).is_file()


def test_the_rules_ask_the_settings_for_the_folds_the_split_writes(corpus, tmp_path):
    cfg = Settings().distilhubert.model_copy(update={"n_folds": 4, "production_validation": 0.1})
    split = tmp_path / "split.csv"
    write_split("emodb", {"emodb": str(corpus / "manifest.csv")}, [], cfg.label_map, [0], str(split), cfg.n_folds,
                "speaker", production_validation=cfg.production_validation)  # fmt: skip
    written = sorted({Fold(str(f)).name for f in read_folds(str(split))["fold"]})
    assert written == sorted(cfg.fold_names("base")) and cfg.deployed_fold in written
    assert cfg.fold_names("base", production=False) == [f"fold{f}" for f in range(4)]
