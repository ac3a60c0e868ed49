"""RAVDESS speech audio, Livingstone & Russo 2018.

Files are ``MM-VV-EE-II-SS-RR-AA.<ext>`` (modality, vocal channel, emotion,
intensity, statement, repetition, actor) in folders ``Actor_AA``; odd actors
are male.
"""

from __future__ import annotations

from pathlib import Path

from serbench.corpora.base import CorpusAdapter, Download, LabelError, Labelled

EMOTIONS: dict[str, str] = {
    "01": "neutral",
    "02": "calm",
    "03": "happiness",
    "04": "sadness",
    "05": "anger",
    "06": "fear",
    "07": "disgust",
    "08": "surprise",
}


def parse(path: Path) -> Labelled:
    """Label a RAVDESS file from its name (``03-01-05-01-01-01-12`` -> actor 12, anger).

    Raises:
        LabelError: the name has not seven two-digit fields, or an unknown
            emotion code.
    """
    fields = path.stem.split("-")
    if len(fields) != 7 or not all(len(f) == 2 and f.isdigit() for f in fields):
        raise LabelError(f"name {path.stem!r} is not RAVDESS's seven-field MM-VV-EE-II-SS-RR-AA form")
    code, actor = fields[2], fields[6]
    if code not in EMOTIONS:
        raise LabelError(f"unknown RAVDESS emotion code {code!r}")
    gender = "m" if int(actor) % 2 else "f"
    return Labelled(path.stem, actor, gender, code, EMOTIONS[code])


ADAPTER = CorpusAdapter(
    name="ravdess",
    audio_glob="**/*",
    parse=parse,
    download=Download(
        url="https://zenodo.org/records/1188976/files/Audio_Speech_Actors_01-24.zip",
        license_note="CC BY-NC-SA 4.0; Zenodo record 1188976",
    ),
)
