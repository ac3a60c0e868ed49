"""Surrey Audio-Visual Expressed Emotion (SAVEE), Jackson & Haq 2014 (Shinde et al. 2024's third corpus).

Four male speakers (DC, JE, JK, KL), 120 utterances each: 30 neutral and 15
each of anger, disgust, fear, happiness, sadness and surprise, 480 in all. The
official layout is ``AudioData/<speaker>/<code><nn>.wav`` (``a``, ``d``, ``f``,
``h``, ``n``, ``sa``, ``su`` and a two-digit take); the common flat copies
name files ``<speaker>_<code><nn>.wav``. Both are read; the utterance id is
``<speaker>_<code><nn>`` either way. SAVEE is licensed: it is obtained by
registering at the University of Surrey's site, so there is no download.
"""

from __future__ import annotations

import re
from pathlib import Path

from serbench.corpora.base import CorpusAdapter, LabelError, Labelled

EMOTIONS: dict[str, str] = {
    "a": "anger",
    "d": "disgust",
    "f": "fear",
    "h": "happiness",
    "n": "neutral",
    "sa": "sadness",
    "su": "surprise",
}
SPEAKERS: tuple[str, ...] = ("DC", "JE", "JK", "KL")
NAME = re.compile(r"(?:(?P<speaker>[A-Za-z]{2})_)?(?P<code>sa|su|[adfhn])(?P<take>\d{2})")
OBTAIN = "http://kahlan.eps.surrey.ac.uk/savee/ (registration; the audio is in AudioData/<speaker>/)"


def parse(path: Path) -> Labelled:
    """Label a SAVEE file: ``AudioData/DC/sa03.wav`` or ``DC_sa03.wav`` -> speaker DC, sadness, id ``DC_sa03``.

    Raises:
        LabelError: the name is neither form, or its speaker is not one of SAVEE's four.
    """
    match = NAME.fullmatch(path.stem)
    if match is None:
        raise LabelError(f"name {path.stem!r} is not SAVEE's <code><nn> or <speaker>_<code><nn> form")
    speaker = (match["speaker"] or path.parent.name).upper()
    if speaker not in SPEAKERS:
        raise LabelError(f"unknown SAVEE speaker {speaker!r} (expected one of {', '.join(SPEAKERS)})")
    code = match["code"]
    return Labelled(f"{speaker}_{code}{match['take']}", speaker, "m", code, EMOTIONS[code])


ADAPTER = CorpusAdapter(name="savee", audio_glob="**/*", parse=parse, download=None, obtain=OBTAIN)
