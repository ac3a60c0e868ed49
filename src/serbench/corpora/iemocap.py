"""IEMOCAP, Busso et al. 2008: five sessions of two actors, improvised and scripted dialogues.

Audio: ``SessionK/sentences/wav/<dialogue>/<utterance>.wav``. Labels: the
majority categorical label of each utterance in
``SessionK/dialog/EmoEvaluation/<dialogue>.txt``, lines like
``[6.29 - 8.24]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5, 2.5, 2.5]``. The
speaker is the session plus the gender letter of the utterance's last field
(``Ses01F_impro01_M013`` -> ``Ses01M``); dialogue names say ``impro`` or ``script``.
Licensed: a local copy only.
"""

from __future__ import annotations

import re
from pathlib import Path

from serbench.corpora.base import CorpusAdapter, Labelled

EMOTIONS: dict[str, str] = {
    "ang": "anger",
    "hap": "happiness",
    "exc": "excitement",
    "sad": "sadness",
    "neu": "neutral",
    "fru": "frustration",
    "sur": "surprise",
    "fea": "fear",
    "dis": "disgust",
}

_LINE = re.compile(r"^\[[\d.]+ - [\d.]+\]\t(Ses(\d\d)[FM]_\S+_([FM])\d+)\t(\w+)\t")


def label_files(root: Path) -> dict[str, Labelled]:
    """Utterance id -> label from every ``EmoEvaluation/*.txt`` under the corpus root.

    Utterances whose majority label is ``xxx`` (no agreement) or ``oth`` are
    left out of the index, so the manifest reports them as unlabelled.
    """
    index: dict[str, Labelled] = {}
    for table in sorted(root.glob("Session*/dialog/EmoEvaluation/*.txt")):
        for line in table.read_text(errors="replace").splitlines():
            match = _LINE.match(line)
            if match and match.group(4) in EMOTIONS:
                utterance, session, gender, code = match.groups()
                index[utterance] = Labelled(
                    utterance, f"Ses{session}{gender}", gender.lower(), code, EMOTIONS[code], session=f"Ses{session}"
                )
    return index


ADAPTER = CorpusAdapter(
    name="iemocap",
    audio_glob="Session*/sentences/wav/*/*",
    parse=None,
    download=None,
    obtain="https://sail.usc.edu/iemocap/ (release form; unpack so that Session1/ ... Session5/ are inside)",
    label_files=label_files,
)
