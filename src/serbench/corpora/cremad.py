"""CREMA-D, Cao et al. 2014: 91 actors, six emotions, audio under ``AudioWAV/``.

File names are ``AAAA_SSS_EEE_LL.wav``: actor id, sentence, emotion code,
intensity level. Actor gender comes from ``VideoDemographics.csv`` at the
corpus root when present (``u`` otherwise).
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from serbench.corpora.base import CorpusAdapter, Download, LabelError, Labelled

EMOTIONS: dict[str, str] = {
    "ANG": "anger",
    "DIS": "disgust",
    "FEA": "fear",
    "HAP": "happiness",
    "NEU": "neutral",
    "SAD": "sadness",
}


@lru_cache(maxsize=8)
def _genders(root: Path) -> dict[str, str]:
    table = root / "VideoDemographics.csv"
    if not table.is_file():
        return {}
    with open(table, newline="") as handle:
        return {row["ActorID"]: row["Sex"][:1].lower() for row in csv.DictReader(handle)}


def parse(path: Path) -> Labelled:
    """Label a CREMA-D file from its name (``1001_DFA_ANG_XX.wav`` -> actor 1001, anger).

    Raises:
        LabelError: not four ``_`` fields with a four-digit actor, or an unknown emotion.
    """
    fields = path.stem.split("_")
    if len(fields) != 4 or not (len(fields[0]) == 4 and fields[0].isdigit()):
        raise LabelError(f"name {path.stem!r} is not CREMA-D's ACTOR_SENTENCE_EMOTION_LEVEL form")
    actor, code = fields[0], fields[2]
    if code not in EMOTIONS:
        raise LabelError(f"unknown CREMA-D emotion code {code!r}")
    gender = _genders(path.parent.parent.resolve()).get(actor, "u")
    return Labelled(path.stem, actor, gender, code, EMOTIONS[code])


ADAPTER = CorpusAdapter(
    name="cremad",
    audio_glob="AudioWAV/*",
    parse=parse,
    download=Download(
        url="https://media.githubusercontent.com/media/CheyneyComputerScience/CREMA-D/master/AudioWAV.zip",
        license_note="Open Database License; GitHub CheyneyComputerScience/CREMA-D (Git LFS)",
    ),
)
