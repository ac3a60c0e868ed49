"""The self-distillation study's steps on a synthetic EmoDB-named corpus and a small random wav2vec2, with no shared
corpus or pretrained weights: speaker folds, the frozen encoder's cached states, and one fold of one variant trained
on them and on the waveforms (fine-tuned), as the rules run them."""

import json

import numpy as np
import pytest
import torch

from conftest import write_emodb_tones
from serbench.cache import load_ragged, save_ragged
from serbench.corpora import build_manifest, get_adapter, read_manifest
from serbench.dataset import CorpusFiles
from serbench.errors import InputError
from serbench.folds import read_folds, write_folds
from serbench.predict import load_predictor
from serbench.settings import Settings
from serbench.settings.names import Fold
from serbench.settings.selfdistill import SelfDistillUpstream
from serbench.settings.steps import SelfDistillStatesSettings
from serbench.ssl.upstream import UpstreamChoice, save_random_upstream
from serbench.ssl.waveforms import prepare_corpus
from serbench.step_files import load_checkpoint
from serbench.studies.selfdistill.deploy import int8_exits
from serbench.studies.selfdistill.model import AllExitsModel
from serbench.studies.selfdistill.steps import (
    build_model,
    encode_states,
    model_path,
    open_upstream,
    train_fold,
)
from serbench.studies.selfdistill.training import tile


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Three speakers × three emotions × two texts, raw waveforms, a 3-layer random wav2vec2 with exits 1 and 2, and
    leave-one-speaker-out folds."""
    root = tmp_path_factory.mktemp("synthetic")
    folder = write_emodb_tones(root, ("03", "08", "09"), "WTN", ("a01", "b01"), seconds=0.5, step=150)
    manifest, _ = build_manifest(get_adapter("emodb"), folder)
    manifest.to_csv(root / "manifest.csv", index=False)
    ids, waveforms = prepare_corpus(read_manifest(root / "manifest.csv"), Settings().waveform, "raw")
    save_ragged(root / "waveforms.npz", ids, waveforms)
    encoder = save_random_upstream("wav2vec2-base", root / "w2v2", size="tiny", num_hidden_layers=3)
    spec = SelfDistillUpstream(pretrained=str(encoder), layers=3, exit_layers=(1, 2))
    split = {"n_folds": 3, "validation_speakers": 1}
    write_folds("speaker_independent", {"emodb": str(root / "manifest.csv")}, [0], split, str(root / "split.csv"))
    return root, spec


def settings(spec, finetune):
    base = Settings().selfdistill
    train = base.train.model_copy(update={"epochs": 1, "batch_size": 4, "selection": "best_epoch"})
    return base.model_copy(update={"upstreams": [spec], "finetune": finetune, "clip_seconds": 0.5, "train": train})


def test_cached_states_hold_the_exit_and_teacher_layers_of_every_tiled_clip(corpus, tmp_path):
    root, spec = corpus
    cfg = settings(spec, finetune=False)
    states = SelfDistillStatesSettings.from_params(cfg.part(SelfDistillStatesSettings).model_dump(mode="json"))
    encode_states(str(root / "waveforms.npz"), spec, states, "clip", str(tmp_path / "states.npz"))
    ids, rows = load_ragged(tmp_path / "states.npz")
    assert len(ids) == 18 and len({r.shape for r in rows}) == 1  # tiled: one length for every clip
    assert rows[0].shape[1] % 32 == 0 and rows[0].shape[1] // 32 >= 3  # layers × hidden 32, side by side


@pytest.mark.parametrize("finetune", [False, True])
def test_a_fold_trains_teacher_and_exits_and_scores_each_on_validation_and_test(corpus, tmp_path, finetune):
    root, spec = corpus
    cfg = settings(spec, finetune)
    if finetune:
        cache = root / "waveforms.npz"
    else:
        states = cfg.part(SelfDistillStatesSettings)
        cache = tmp_path / "states.npz"
        encode_states(str(root / "waveforms.npz"), spec, states, "clip", str(cache))
    metrics = tmp_path / "fold0.json"
    upstream = UpstreamChoice(spec.pretrained)
    train_fold(str(root / "split.csv"), "0", {"emodb": CorpusFiles(str(root / "manifest.csv"), str(cache))}, "conv-l2",
               cfg, upstream, {"dataset": "emodb"}, str(tmp_path / "fold0"), str(metrics))  # fmt: skip
    (record,) = json.loads(metrics.read_text())
    assert record["finetune"] is finetune and record["random_init"] is True and record["teacher_depth"] == 3
    for subset in ("validation", "test"):
        scores = record["scores"][subset]
        assert set(scores) == {"teacher", "1", "2", "fusion_margin", "fusion_mean", "fusion_confident"}
        hits = [s["accuracy"] * 6 for s in scores.values()]  # one speaker's 3 emotions × 2 texts scored
        assert hits == pytest.approx([round(h) for h in hits])
    assert model_path(tmp_path / "fold0", 0).is_file()


def test_the_int8_exits_model_labels_a_file_at_each_exit_as_the_trained_model_does(corpus, tmp_path):
    """The deployable graph, read by ``serbench predict`` at each exit, gives that exit's probabilities of the
    PyTorch model (within int8 error) on the file prepared as the study's own clips, and the exit nearest to each
    prediction is the one asked for."""
    root, spec = corpus
    cfg = settings(spec, finetune=True).model_copy(update={"int8_scheme": "dynamic", "calibration_utterances": 2})
    files = {"emodb": CorpusFiles(str(root / "manifest.csv"), str(root / "waveforms.npz"))}
    upstream = UpstreamChoice(spec.pretrained)
    train_fold(str(root / "split.csv"), "0", files, "conv-l2", cfg, upstream, {"dataset": "emodb"},
               str(tmp_path / "fold0"), str(tmp_path / "fold0.json"))  # fmt: skip
    onnx_path = tmp_path / "conv-l2.int8.onnx"
    int8_exits(str(model_path(tmp_path / "fold0", 0)), cfg, upstream, str(root / "split.csv"), "0", 0, files,
               Settings().waveform, str(tmp_path / "int8.json"), str(onnx_path))  # fmt: skip
    assert json.loads((tmp_path / "int8.json").read_text())["file"] == str(onnx_path)

    saved = load_checkpoint(model_path(tmp_path / "fold0", 0))
    model = build_model(open_upstream(spec, cfg, "clip"), spec, "conv-l2", len(saved["classes"]), cfg)
    model.load_state_dict(saved["state_dict"])
    audio = sorted((root / "emodb" / "wav").glob("*.wav"))[0]
    ids, waveforms = load_ragged(root / "waveforms.npz")
    clip = tile(waveforms[list(ids).index(audio.stem)], round(cfg.clip_seconds * 16000))
    with torch.no_grad():
        reference = torch.softmax(AllExitsModel(model.eval())(torch.from_numpy(clip)[None]), dim=-1)[:, 0].numpy()
    for index, exit_name in enumerate(("1", "2", "teacher")):
        predictor = load_predictor(onnx_path, exit_name)
        assert predictor.classes == saved["classes"]
        np.testing.assert_array_equal(predictor.clip(audio), clip)
        (probabilities,) = predictor.probabilities(audio)
        assert np.abs(probabilities - reference[index]).max() < 0.02
        assert np.abs(reference - probabilities).sum(axis=1).argmin() == index
    with pytest.raises(InputError, match="exits are 1, 2, teacher"):
        load_predictor(onnx_path, "5")


def test_the_rules_ask_the_settings_for_the_folds_the_split_writes(corpus):
    root, spec = corpus
    written = sorted({Fold(str(f)).name for f in read_folds(str(root / "split.csv"))["fold"]})
    assert written == Settings().selfdistill.model_copy(update={"n_folds": 3}).fold_names
