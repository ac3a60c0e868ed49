"""EmoBox's published upstreams as reference marks beside the suite's own models (``deployment.csv`` and its plot):
UA as EmoBox's Table 4 prints it, bytes from each upstream's parameter count at float32, no latency.

EmoBox gives no sizes, and no pretrained weights are reachable here, so each upstream's encoder is built with
empty (meta) tensors from its published architecture - the hidden size, layers, attention heads and
feed-forward width of its model card's ``config.json``, as transformers' classes read them - and its
parameters counted: an architectural count, no weights loaded. Whisper counts its encoder only (EmoBox pools the
encoder's states). data2vec 2.0 keeps data2vec's audio encoder (Baevski et al. 2023, Sec. 3), so it is counted
with ``Data2VecAudioModel``; its pre-training decoder is not part of the upstream.
"""

from __future__ import annotations

from functools import cache

import pandas as pd
import torch

from serbench.emobox import fold_table
from serbench.errors import UnknownNameError
from serbench.literature import emobox2024_table4

FLOAT32_BYTES = 4
REFERENCE_STUDY = "emobox (quoted)"
LARGE = {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096}
STABLE = {"feat_extract_norm": "layer", "do_stable_layer_norm": True, "conv_bias": True}  # large HuBERT, WavLM
WHISPER_LARGE_V3 = {
    "d_model": 1280,
    "encoder_layers": 32,
    "encoder_attention_heads": 20,
    "encoder_ffn_dim": 5120,
    "num_mel_bins": 128,
}
ARCHITECTURES: dict[str, tuple[str, dict]] = {
    "wav2vec 2.0 base": ("Wav2Vec2", {}),
    "HuBERT base": ("Hubert", {}),
    "HuBERT large": ("Hubert", LARGE | STABLE),
    "WavLM base": ("WavLM", {}),
    "WavLM large": ("WavLM", LARGE | STABLE),
    "data2vec base": ("Data2VecAudio", {}),
    "data2vec large": ("Data2VecAudio", LARGE),
    "data2vec 2.0 base": ("Data2VecAudio", {}),
    "data2vec 2.0 large": ("Data2VecAudio", LARGE),
    "Whisper large v3": ("Whisper", WHISPER_LARGE_V3),
}


def encoder_parameters(family: str, config: dict) -> int:
    """Parameters of a transformers speech encoder of ``family`` (``"Wav2Vec2"``, ``"Hubert"``, ``"WavLM"``,
    ``"Data2VecAudio"``, ``"Whisper"``: its encoder) built from ``config`` overrides of the family's defaults (its
    base size), on the meta device: nothing allocated."""
    import transformers

    config_class = getattr(transformers, f"{family}Config")
    with torch.device("meta"):
        if family == "Whisper":
            from transformers.models.whisper.modeling_whisper import WhisperEncoder

            model = WhisperEncoder(config_class(**config))
        else:
            model = getattr(transformers, f"{family}Model")(config_class(**config))
    return sum(p.numel() for p in model.parameters())


@cache
def upstream_parameters(upstream: str) -> int:
    """Parameters of an upstream of EmoBox's Table 4 by its name there (``"WavLM large"``).

    Raises:
        UnknownNameError: a name :data:`ARCHITECTURES` lacks (the message lists them).
    """
    if upstream not in ARCHITECTURES:
        raise UnknownNameError(f"no architecture for upstream {upstream!r}; known: {', '.join(ARCHITECTURES)}")
    return encoder_parameters(*ARCHITECTURES[upstream])


def reference_rows(corpora: list[str]) -> pd.DataFrame:
    """EmoBox's Table 4 rows for ``corpora`` (those it has), one per upstream: ``study`` ``"emobox (quoted)"``, the
    task ``"<corpus>, EmoBox folds, <k> classes"`` (every emotion of the corpus, EmoBox's folds: not the suite's
    speaker folds), ``ua``, ``n_params`` (:func:`upstream_parameters`) and ``bytes`` = 4 × ``n_params`` (float32
    weights; EmoBox measures no size or latency)."""
    table = emobox2024_table4()
    table = table[table["corpus"].isin(corpora)]
    classes = fold_table().groupby("corpus")["emotion"].nunique()
    params = table["upstream"].map(upstream_parameters)
    return pd.DataFrame(
        {
            "study": REFERENCE_STUDY,
            "task": [f"{c}, EmoBox folds, {classes[c]} classes" for c in table["corpus"]],
            "source": table["upstream"],
            "model": "upstream (EmoBox head not counted)",
            "variant": "float32",
            "runtime": "not measured",
            "weights": "pretrained (quoted)",
            "ua": table["ua"],
            "n_params": params,
            "bytes": FLOAT32_BYTES * params,
        }
    ).reset_index(drop=True)
