import numpy as np
import pandas as pd
import pytest
import torch

from serbench.cache import save_rows
from serbench.corpora.base import MANIFEST_COLUMNS
from serbench.dataset import CorpusArrays, CorpusFiles
from serbench.emobox import fold_table
from serbench.settings.ssl import AugmentSettings, HeadTrainSettings, WaveformSettings
from serbench.ssl.upstream import EncoderUnavailable, load_upstream, pooled_hidden_states, save_random_upstream
from serbench.ssl.waveforms import prepare_waveform
from serbench.studies.distilhubert.augment import augment
from serbench.studies.distilhubert.folds import write_split
from serbench.studies.distilhubert.head import PooledHead, balanced_class_weights, focal_loss
from serbench.studies.distilhubert.report import run_rows, speaker_overlap, table1


def head(n_layers, hidden, n_classes, layer_weights=False, head_hidden=256, dropout=0.1):
    return PooledHead(n_layers, hidden, n_classes, layer_weights, head_hidden, dropout)


NO_AUGMENT = dict(gain_probability=0, noise_probability=0, pitch_probability=0, polarity_probability=0)


def test_focal_loss_eq1_by_hand():
    # two classes, logits (0, ln 3): p = (1/4, 3/4); target 1, alpha_1 = 2, gamma = 2:
    # FL = -2 * (1 - 3/4)^2 * ln(3/4) = -0.125 * ln 0.75
    logits = torch.tensor([[0.0, np.log(3.0)]])
    loss = focal_loss(logits, torch.tensor([1]), alpha=torch.tensor([1.0, 2.0]), gamma=2.0)
    assert loss.item() == pytest.approx(-0.125 * np.log(0.75), rel=1e-6)


def test_focal_loss_reduces_to_cross_entropy():
    logits, targets = torch.randn(8, 4), torch.randint(0, 4, (8,))
    expected = torch.nn.functional.cross_entropy(logits, targets, label_smoothing=0.1)
    assert focal_loss(logits, targets, gamma=0.0, label_smoothing=0.1).item() == pytest.approx(
        expected.item(), rel=1e-6
    )


def test_label_smoothing_spreads_the_target():
    # p = (1/4, 3/4), gamma 0, eps 0.1: q = (0.05, 0.95); loss = -(0.05 ln 1/4 + 0.95 ln 3/4)
    loss = focal_loss(torch.tensor([[0.0, np.log(3.0)]]), torch.tensor([1]), gamma=0.0, label_smoothing=0.1)
    assert loss.item() == pytest.approx(-(0.05 * np.log(0.25) + 0.95 * np.log(0.75)), rel=1e-6)


def test_balanced_weights_match_class_counts():
    weights = balanced_class_weights(np.array([0] * 6 + [1] * 2 + [2] * 4), 3)
    assert weights.tolist() == pytest.approx([12 / 18, 12 / 6, 12 / 12])


def test_waveform_preparation_trims_emphasises_normalises_and_cuts():
    rate = 16000
    tone = 0.2 * np.sin(2 * np.pi * 200 * np.arange(10 * rate) / rate)
    padded = np.concatenate([np.zeros(rate), tone, np.zeros(rate)]).astype(np.float32)
    prepared = prepare_waveform(padded, WaveformSettings())
    assert prepared.shape == (8 * rate,)  # 1 s silence trimmed each side, 10 s tone cut to 8 s
    assert np.abs(prepared).max() == pytest.approx(0.95)
    short = prepare_waveform(tone[: rate // 2].astype(np.float32), WaveformSettings(pre_emphasis=0.0))
    np.testing.assert_allclose(short, 0.95 * tone[: len(short)] / np.abs(tone[: len(short)]).max(), atol=1e-5)
    with pytest.raises(ValueError, match="silent"):
        prepare_waveform(np.zeros(rate, dtype=np.float32), WaveformSettings())


def test_augmentation_is_seeded_and_keeps_length():
    wave = np.sin(np.linspace(0, 100, 16000)).astype(np.float32)
    cfg = AugmentSettings(pitch_probability=1.0)
    first = augment(wave, 16000, cfg, np.random.default_rng([1, 2]))
    assert np.array_equal(first, augment(wave, 16000, cfg, np.random.default_rng([1, 2])))
    assert first.shape == wave.shape and not np.array_equal(first, wave)
    flipped = augment(
        wave, 16000, AugmentSettings(**{**NO_AUGMENT, "polarity_probability": 1.0}), np.random.default_rng(0)
    )
    np.testing.assert_array_equal(flipped, -wave)


def test_gain_range_in_decibels():
    wave = np.ones(100, dtype=np.float32)
    cfg = AugmentSettings(**{**NO_AUGMENT, "gain_probability": 1.0, "gain_db": (-6.0, -6.0)})
    assert augment(wave, 16000, cfg, np.random.default_rng(0))[0] == pytest.approx(10 ** (-6 / 20))


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory):
    return str(save_random_upstream("distilhubert", tmp_path_factory.mktemp("enc") / "tiny", size="tiny"))


def test_saved_encoder_loads_through_from_pretrained(tiny_encoder):
    upstream = load_upstream(tiny_encoder)
    states = pooled_hidden_states(upstream, np.random.default_rng(0).normal(size=16000).astype(np.float32))
    assert states.shape == (3, 32)  # CNN projection + 2 transformer layers, hidden 32


def test_missing_encoder_names_the_config_key(tmp_path):
    with pytest.raises(EncoderUnavailable, match=r"set selfdistill.upstreams \(--config or your --configfile\)"):
        load_upstream(str(tmp_path / "no-such-encoder"), "selfdistill.upstreams")


def test_head_layer_weighting_selects_layers():
    torch.manual_seed(0)
    pooled = torch.randn(2, 3, 4)
    weighted, last_only = head(3, 4, 2, layer_weights=True).eval(), head(3, 4, 2).eval()
    last_only.classifier.load_state_dict(weighted.classifier.state_dict())
    with torch.no_grad():
        weighted.layer_logits.copy_(torch.tensor([-50.0, -50.0, 50.0]))  # all weight on the last layer
        torch.testing.assert_close(weighted(pooled), last_only(pooled))
        weighted.layer_logits.zero_()  # equal weights: the classifier sees the mean over layers
        torch.testing.assert_close(weighted(pooled), weighted.classifier(pooled.mean(dim=1)))


def test_head_training_learns_separable_states_and_keeps_the_best_epoch():
    from serbench.dataset import Subset
    from serbench.studies.distilhubert.head import clean_view, head_probabilities, train_head

    rng = np.random.default_rng(0)

    def subset(n):
        labels = rng.integers(0, 3, size=n)
        states = rng.normal(size=(n, 2, 3, 8)).astype(np.float32)  # (N, views, layers + 1, hidden)
        states[np.arange(n), :, -1, labels] += 4.0  # the last layer says the class
        return Subset(states, np.ones(n, dtype=np.int64), labels, np.arange(n))

    train, validation = subset(120), subset(40)
    model = head(3, 8, 3, head_hidden=16)
    history = train_head(
        model, train, validation, 3, HeadTrainSettings(learning_rate=1e-2, epochs=15, patience=4), seed=0
    )
    predicted = head_probabilities(model, clean_view(validation)).argmax(1)
    from serbench.metrics import unweighted_average_recall

    assert unweighted_average_recall(validation.labels, predicted) == history["best_validation_uar"] > 0.9
    assert len(history["class_weights"]) == 3


def test_normalize_batch_matches_the_feature_extractor_per_valid_length():
    from transformers import Wav2Vec2FeatureExtractor

    from serbench.ssl.encoders import normalize_batch
    from serbench.ssl.waveforms import pad_batch

    rng = np.random.default_rng(0)
    waves = [rng.normal(0.3, 2.0, size=n).astype(np.float32) for n in (400, 250)]
    extractor = Wav2Vec2FeatureExtractor(do_normalize=True, return_attention_mask=True)
    expected = extractor(waves, sampling_rate=16000, padding=True, return_tensors="pt")["input_values"]
    padded, lengths = pad_batch(waves)
    normalized = normalize_batch(torch.from_numpy(padded), torch.as_tensor(lengths))
    torch.testing.assert_close(normalized, expected, atol=1e-5, rtol=1e-5)
    assert normalized[1, 250:].abs().max() == 0


def test_finetune_model_pools_like_the_frozen_cache_and_trains_the_transformer_only(tiny_encoder):
    from serbench.studies.distilhubert.finetune import FineTuneModel, finetuned_probabilities, train_finetune

    upstream = load_upstream(tiny_encoder)
    model = upstream.model
    pooled_head = head(3, 32, 2, head_hidden=8).eval()
    wave = np.random.default_rng(1).normal(size=16000).astype(np.float32)
    with torch.no_grad():
        cached = pooled_head(torch.from_numpy(pooled_hidden_states(upstream, wave))[None])
    finetune = FineTuneModel(upstream, pooled_head).eval()
    with torch.no_grad():
        torch.testing.assert_close(
            finetune(torch.from_numpy(wave)[None], torch.tensor([16000])), cached, atol=1e-4, rtol=1e-4
        )
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = np.random.default_rng(2)
    labels = np.array([0, 1] * 8)
    waves = [rng.normal(size=8000).astype(np.float32) * (0.1 if y else 1.0) for y in labels]
    history = train_finetune(
        finetune,
        (waves, labels),
        (waves[:4], labels[:4]),
        2,
        HeadTrainSettings(learning_rate=1e-3, epochs=2, batch_size=4),
        None,
        seed=0,
    )
    after = model.state_dict()
    assert history["epochs_run"] == 2 and history["device"] in ("cpu", "cuda")
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("feature_extractor."))
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("encoder.layers."))
    assert finetuned_probabilities(finetune, waves[:3]).shape == (3, 2)


def _record(fold: str, uar: float, cross_uar: float) -> dict:
    scores = {"accuracy": uar, "uar": uar, "macro_f1": uar}
    record = {
        "upstream": "tiny",
        "model": "head",
        "dataset": "emodb",
        "setting": "base",
        "fold": fold,
        "seed": 0,
        "serbench_version": "v",
        "git_commit": "c",
    }
    cross = {"corpus": "ravdess", "accuracy": cross_uar, "uar": cross_uar, "macro_f1": cross_uar}
    cross["confusion"] = [[3, 1], [1, 1]]  # 4 of 6 utterances in the first class
    if fold == "production":
        return record | {"n_test": 0, "validation": scores, "cross_corpus": cross}
    return record | {"n_test": 10, **scores, "f1_per_class": {"anger": uar}, "cross_corpus": cross}


def test_production_model_scores_are_reported_apart_from_the_fold_models():
    runs = run_rows([_record("0", 0.5, 0.3), _record("1", 0.7, 0.5), _record("production", 0.9, 0.6)])
    table = table1(runs).set_index("metric")
    assert table.loc["uar", "mean"] == pytest.approx(0.6) and table.loc["uar", "n_runs"] == 2
    assert table.loc["cross_uar", "mean"] == pytest.approx(0.4)  # the fold models only
    assert table.loc["production_cross_uar", "mean"] == pytest.approx(0.6)
    assert table.loc["production_validation_uar", "n_runs"] == 1
    assert table.loc["cross_chance_uar", "mean"] == pytest.approx(0.5)  # two classes
    assert table.loc["cross_chance_accuracy", "mean"] == pytest.approx(4 / 6)


def test_a_fold_without_test_utterances_is_cut_only_where_its_test_subset_is_optional(tmp_path):
    manifest = tmp_path / "c.csv"
    rows = pd.DataFrame({"utterance_id": ["a", "b", "c"], "emotion": ["anger", "sadness", "anger"]})
    rows.reindex(columns=MANIFEST_COLUMNS).assign(speaker="s").to_csv(manifest, index=False)
    save_rows(tmp_path / "c.npz", ["a", "b", "c"], np.eye(3, dtype=np.float32))
    arrays = CorpusArrays({"c": CorpusFiles(manifest, tmp_path / "c.npz")})
    folds = pd.DataFrame(
        {"fold": "production", "corpus": "c", "utterance_id": ["a", "b", "c"], "subset": ["train"] * 2 + ["validation"]}
    )
    with pytest.raises(ValueError, match="fold production has no test utterances"):
        arrays.split(folds, "production", "split.csv")
    data = arrays.split(folds, "production", "split.csv", optional=("test",))
    assert set(data.subsets) == {"train", "validation"} and data.subsets["validation"].ids.tolist() == ["c"]


def _utterance_record(setting: str, seed: int, hits: str, fold: str = "0") -> dict:
    """A fold record whose test utterances u0..u3 (speakers s0, s1; anger, sadness) are right where ``hits``."""
    utterances = {
        "test_utterances": ["u0", "u1", "u2", "u3"],
        "test_speakers": ["s0", "s0", "s1", "s1"],
        "test_emotions": ["anger", "sadness", "anger", "sadness"],
        "test_correct": hits,
    }
    run = {"upstream": "tiny", "model": "head", "dataset": "emodb", "setting": setting, "fold": fold, "seed": seed}
    return run | utterances


def test_speaker_overlap_sets_emobox_folds_against_the_speaker_folds_per_model():
    records = [_utterance_record("emobox", s, "1111") for s in (0, 1)]
    records += [_utterance_record("base", s, "1010") for s in (0, 1)]  # anger right, sadness wrong: UA 0.5
    records += [_utterance_record("extra", 0, "0000"), {**_utterance_record("base", 0, "0000"), "fold": "production"}]
    overlap = speaker_overlap(records)
    assert overlap[["upstream", "model", "dataset"]].values.tolist() == [["tiny", "head", "emodb"]]
    row = overlap.iloc[0]
    assert (row["ua_emobox"], row["ua_speaker_folds"], row["overlap_gain"]) == (1.0, 0.5, 0.5)
    assert row["n_seeds"] == 2 and row["n_test_emobox"] == 4


def test_the_emobox_setting_writes_emobox_folds_relabelled_without_a_production_model(tmp_path):
    published = fold_table()[fold_table()["corpus"] == "emodb"]
    manifest = tmp_path / "emodb.csv"
    published[["utterance_id", "emotion"]].reindex(columns=MANIFEST_COLUMNS).assign(speaker="03").to_csv(
        manifest, index=False
    )
    out = tmp_path / "split.csv"
    write_split("emodb", {"emodb": str(manifest)}, [], "four_class", [0], str(out), 5, "speaker",
                production_validation=0.05, protocol="emobox")  # fmt: skip
    folds = pd.read_csv(out, dtype={"fold": str, "utterance_id": str})
    assert sorted(folds["fold"].unique()) == ["0", "1", "2", "3", "4"]  # EmoBox's five, no production fold
    assert set(folds["emotion"]) == {"anger", "happiness", "neutral", "sadness"}  # four classes
    test = folds[folds["subset"] == "test"].set_index("utterance_id")
    expected = published.set_index("utterance_id").loc[test.index, "test_fold"]
    assert (test["fold"].astype(int) + 1 == expected).all()
