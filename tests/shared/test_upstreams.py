"""Every upstream family behind one contract: a clip's states and predictions do not depend on its batch.

Small random encoders of each family (wav2vec2 with group norm, with layer norm, HuBERT/DistilHuBERT, Whisper),
and the real Whisper tiny.en when the shared Hugging Face cache is present (``HF_HUB_CACHE``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import WhisperFeatureExtractor, WhisperModel

from serbench.ssl.encoders import WhisperUpstream
from serbench.ssl.upstream import load_upstream, pooled_hidden_states, save_random_upstream, upstream_name
from serbench.studies.distilhubert.finetune import FineTuneModel
from serbench.studies.distilhubert.head import PooledHead
from serbench.studies.selfdistill.model import ExitModel, SelfDistillModel

REAL_WHISPER = "openai/whisper-tiny.en"
HAS_WHISPER = (Path(os.environ.get("HF_HUB_CACHE", "/nonexistent")) / "models--openai--whisper-tiny.en").is_dir()


def _random(architecture: str, folder: Path, **overrides) -> str:
    path = save_random_upstream(architecture, folder / architecture, size="tiny", num_hidden_layers=3)
    if overrides:  # e.g. a wav2vec2 whose CNN ends in layer norm (the large models' layout)
        import json

        config = json.loads((path / "config.json").read_text())
        (path / "config.json").write_text(json.dumps({**config, **overrides}))
    return str(path)


@pytest.fixture(scope="module")
def upstreams(tmp_path_factory):
    folder = tmp_path_factory.mktemp("upstreams")
    found = {
        "wav2vec2 (group norm)": load_upstream(_random("wav2vec2-base", folder)),
        "wav2vec2 (layer norm, masked)": load_upstream(
            _random("wavlm-base", folder, feat_extract_norm="layer", do_stable_layer_norm=True)
        ),
        "distilhubert": load_upstream(_random("distilhubert", folder)),
        "whisper": load_upstream(_random("whisper-tiny", folder)),
    }
    if HAS_WHISPER:
        found["whisper-tiny.en (pretrained)"] = load_upstream(REAL_WHISPER)
    return found


def _clips() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.normal(scale=0.1, size=n).astype(np.float32) for n in (9000, 16000, 12345)]


def _padded(clips: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    batch = torch.zeros(len(clips), max(len(c) for c in clips))
    for row, clip in enumerate(clips):
        batch[row, : len(clip)] = torch.from_numpy(clip)
    return batch, torch.tensor([len(c) for c in clips])


@pytest.mark.parametrize(
    "family",
    [
        "wav2vec2 (group norm)",
        "wav2vec2 (layer norm, masked)",
        "distilhubert",
        "whisper",
        pytest.param("whisper-tiny.en (pretrained)", marks=pytest.mark.skipif(not HAS_WHISPER, reason="no HF cache")),
    ],
)
def test_a_clip_encodes_alike_alone_and_in_a_padded_batch(upstreams, family):
    upstream = upstreams[family]
    clips = _clips()
    with torch.no_grad():
        hidden, frames = upstream(*_padded(clips))
        for row, clip in enumerate(clips):
            alone, alone_frames = upstream(torch.from_numpy(clip)[None], torch.tensor([len(clip)]))
            assert int(frames[row]) == alone[-1].shape[1] == int(alone_frames[0])
            for batched, single in zip(hidden, alone):
                torch.testing.assert_close(batched[row, : int(frames[row])], single[0], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("family", ["wav2vec2 (group norm)", "whisper"])
def test_both_studies_predict_a_clip_alike_alone_and_in_a_batch(upstreams, family):
    upstream = upstreams[family].eval()
    torch.manual_seed(0)
    finetune = FineTuneModel(upstream, PooledHead(upstream.num_layers + 1, upstream.hidden_size, 4, True, 8, 0.1))
    distill = SelfDistillModel(upstream, 4, (1, 2), "gru", head_hidden=8).eval()
    clips = _clips()
    with torch.no_grad():
        batch_logits = finetune.eval()(*_padded(clips))
        batch_exits = distill(*_padded(clips))
        for row, clip in enumerate(clips):
            single = torch.from_numpy(clip)[None], torch.tensor([len(clip)])
            torch.testing.assert_close(batch_logits[row], finetune(*single)[0], atol=1e-4, rtol=1e-4)
            for name, outputs in distill(*single).items():
                torch.testing.assert_close(batch_exits[name][2][row], outputs[2][0], atol=1e-4, rtol=1e-4)


def test_exit_model_runs_only_its_layers_and_matches_the_full_model(upstreams):
    upstream = upstreams["whisper"]
    model = SelfDistillModel(upstream, 3, (1,), "conv", head_hidden=8).eval()
    calls = []
    hooks = [
        layer.register_forward_hook(lambda *_, i=i: calls.append(i)) for i, layer in enumerate(upstream.model.layers)
    ]
    clip = torch.from_numpy(_clips()[1])[None]
    with torch.no_grad():
        exit_logits = ExitModel(upstream, 1, model.students["1"])(clip)
        full = model(clip, torch.tensor([clip.shape[1]]))[1][2]
    for hook in hooks:
        hook.remove()
    assert calls[0] == 0 and calls.count(1) == 1  # the exit model ran layer 0 alone; the full model all three
    torch.testing.assert_close(exit_logits, full)


def test_depth_outside_the_encoder_is_refused(upstreams):
    with pytest.raises(ValueError, match="outside 1..3"):
        upstreams["whisper"](torch.zeros(1, 8000), torch.tensor([8000]), depth=4)


def test_whisper_pad30_reproduces_the_transformers_encoder_on_its_feature_extractor(tmp_path):
    path = save_random_upstream("whisper-tiny", tmp_path / "w", size="tiny", num_hidden_layers=2)
    encoder = WhisperModel.from_pretrained(path).encoder.eval()
    extractor = WhisperFeatureExtractor.from_pretrained(path)
    upstream = WhisperUpstream(encoder, extractor.mel_filters, extractor.n_fft, extractor.hop_length, "pad30").eval()
    clip = _clips()[1]
    with torch.no_grad():
        reference = encoder(extractor(clip, sampling_rate=16000, return_tensors="pt").input_features).last_hidden_state
        ours, frames = upstream(torch.from_numpy(clip)[None], torch.tensor([len(clip)]))
    assert int(frames[0]) == 50  # 16000 samples: 100 mel frames, halved by the second convolution
    torch.testing.assert_close(ours[-1][0], reference[0, :50], atol=1e-5, rtol=1e-5)


def test_pooled_states_have_one_row_per_layer(upstreams):
    states = pooled_hidden_states(upstreams["whisper"], _clips()[0])
    assert states.shape == (4, upstreams["whisper"].hidden_size)


def test_upstream_names_are_path_safe():
    assert upstream_name("openai/whisper-tiny.en") == "whisper-tiny-en"
    assert upstream_name("ntu-spml/distilhubert") == "distilhubert"


def test_layerdrop_in_training_passes_a_skipped_layers_input_on_and_keeps_every_state(upstreams):
    upstream = upstreams["wav2vec2 (group norm)"]
    upstream.train()
    upstream.layerdrop = 1.0  # every layer skipped
    try:
        hidden, _ = upstream(torch.randn(2, 8000), torch.tensor([8000, 6000]))
    finally:
        upstream.layerdrop = 0.0
        upstream.eval()
    assert len(hidden) == upstream.num_layers + 1
    assert all(torch.equal(h, hidden[0]) for h in hidden[1:])


def test_every_architecture_the_cli_offers_has_a_config_and_no_other():
    from typing import get_args

    from serbench.cli import COMMANDS
    from serbench.settings.names import EncoderArchitecture
    from serbench.ssl.upstream import ARCHITECTURES

    offered = next(o["choices"] for flags, o in COMMANDS["init-encoder"].arguments if flags == ("--architecture",))
    assert set(offered) == set(get_args(EncoderArchitecture)) == set(ARCHITECTURES)
