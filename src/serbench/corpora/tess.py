"""Toronto Emotional Speech Set (TESS), Pichora-Fuller & Dupuis 2020.

Two female speakers (OAF, aged 64; YAF, aged 26) say "Say the word _" with
seven emotions. Files are ``<SPEAKER>_<word>_<emotion>.<ext>`` in folders
``<SPEAKER>_<emotion>``; the label is the name's last field. One official
name, ``OA_bite_neutral``, drops the F of OAF.
"""

from __future__ import annotations

from pathlib import Path

from serbench.corpora.base import CorpusAdapter, Download, LabelError, Labelled

EMOTIONS: dict[str, str] = {
    "angry": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "happy": "happiness",
    "neutral": "neutral",
    "ps": "surprise",  # pleasant surprise
    "sad": "sadness",
}

SPEAKERS: dict[str, str] = {"OAF": "OAF", "OA": "OAF", "YAF": "YAF"}


def parse(path: Path) -> Labelled:
    """Label a TESS file from its name (``YAF_back_ps.wav`` -> YAF, surprise).

    Raises:
        LabelError: the name has fewer than three ``_`` fields, or an unknown
            speaker prefix or emotion.
    """
    fields = path.stem.split("_")
    if len(fields) < 3:
        raise LabelError(f"name {path.stem!r} is not TESS's SPEAKER_word_emotion form")
    prefix, code = fields[0].upper(), fields[-1].lower()
    if prefix not in SPEAKERS:
        raise LabelError(f"unknown TESS speaker prefix {fields[0]!r}")
    if code not in EMOTIONS:
        raise LabelError(f"unknown TESS emotion {fields[-1]!r}")
    return Labelled(path.stem, SPEAKERS[prefix], "f", code, EMOTIONS[code])


ADAPTER = CorpusAdapter(
    name="tess",
    audio_glob="**/*",
    parse=parse,
    download=Download(
        url="https://borealisdata.ca/api/access/dataset/:persistentId/?persistentId=doi:10.5683/SP2/E8H2MF",
        license_note="CC BY-NC-ND 4.0; University of Toronto Dataverse",
    ),
)
