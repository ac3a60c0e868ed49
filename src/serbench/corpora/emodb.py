"""Berlin Database of Emotional Speech (EmoDB), Burkhardt et al., Interspeech 2005.

File names are ``SSTTTEV.wav``: speaker ``SS``, text ``TTT``, emotion letter
``E`` (German initial), version ``V``; audio under ``wav/``.
"""

from __future__ import annotations

from pathlib import Path

from serbench.corpora.base import CorpusAdapter, Download, LabelError, Labelled

EMOTIONS: dict[str, str] = {
    "W": "anger",  # Wut
    "L": "boredom",  # Langeweile
    "E": "disgust",  # Ekel
    "A": "fear",  # Angst
    "F": "happiness",  # Freude
    "T": "sadness",  # Trauer
    "N": "neutral",
}

# Speaker id -> gender, from the corpus documentation (erklaerung.txt).
SPEAKERS: dict[str, str] = {
    "03": "m",
    "08": "f",
    "09": "f",
    "10": "m",
    "11": "m",
    "12": "m",
    "13": "f",
    "14": "f",
    "15": "m",
    "16": "f",
}


def parse(path: Path) -> Labelled:
    """Label an EmoDB file from its name (``03a01Fa.wav`` -> speaker 03, happiness).

    Raises:
        LabelError: the name is not 7 characters, or its speaker or emotion
            code is not one of EmoDB's.
    """
    stem = path.stem
    if len(stem) != 7:
        raise LabelError(f"name {stem!r} is not EmoDB's 7-character SSTTTEV form")
    speaker, code = stem[:2], stem[5]
    if speaker not in SPEAKERS:
        raise LabelError(f"unknown EmoDB speaker {speaker!r}")
    if code not in EMOTIONS:
        raise LabelError(f"unknown EmoDB emotion code {code!r}")
    return Labelled(stem, speaker, SPEAKERS[speaker], code, EMOTIONS[code])


ADAPTER = CorpusAdapter(
    name="emodb",
    audio_glob="wav/*",
    parse=parse,
    download=Download(
        url="http://emodb.bilderbar.info/download/download.zip",
        license_note="free for research; see the EmoDB site",
    ),
)
