"""DEMoS, Parada-Cabaleiro et al. 2019: elicited Italian emotional speech, 68 speakers (23 f, 45 m).

Licensed: only a local copy can provide it. File names are
``CC_G_SS_EEEnnv.wav``: ``CC`` the sample's set (``NP`` non-prototypical,
``PR`` prototypical; the same speakers appear in both), ``G`` the gender
(``f``/``m``), ``SS`` the speaker number, then three letters of the Italian
emotion name (``col`` colpa, ``dis`` disgusto, ``gio`` gioia, ``pau`` paura,
``rab`` rabbia, ``sor`` sorpresa, ``tri`` tristezza, ``neu`` neutrale)
followed by the sentence and take. The speaker id is ``G`` + ``SS``. Every
sub-folder is searched, so the neutral recordings may lie in a folder of
their own.
"""

from __future__ import annotations

from pathlib import Path

from serbench.corpora.base import CorpusAdapter, LabelError, Labelled

EMOTIONS: dict[str, str] = {
    "col": "guilt",
    "dis": "disgust",
    "gio": "happiness",
    "neu": "neutral",
    "pau": "fear",
    "rab": "anger",
    "sor": "surprise",
    "tri": "sadness",
}


def parse(path: Path) -> Labelled:
    """Label a DEMoS file from its name (``PR_f_05_rab03a.wav`` -> speaker f05, anger).

    Raises:
        LabelError: not four ``_`` fields of set, gender, speaker number and emotion, or an unknown emotion.
    """
    fields = path.stem.split("_")
    if len(fields) != 4 or fields[0] not in ("NP", "PR") or fields[1] not in ("f", "m") or not fields[2].isdigit():
        raise LabelError(f"name {path.stem!r} is not DEMoS's SET_GENDER_SPEAKER_EMOTION form (e.g. PR_f_05_rab03a)")
    code = fields[3][:3].lower()
    if code not in EMOTIONS:
        raise LabelError(f"unknown DEMoS emotion code {fields[3][:3]!r} (expected one of {sorted(EMOTIONS)})")
    return Labelled(path.stem, f"{fields[1]}{fields[2]}", fields[1], code, EMOTIONS[code])


ADAPTER = CorpusAdapter(
    name="demos",
    audio_glob="**/*",
    parse=parse,
    download=None,
    obtain="from its authors (Parada-Cabaleiro et al. 2020) under a licence agreement",
)
