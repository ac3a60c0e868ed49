"""Rebuild the shipped EmoBox fold table from a checkout of EmoBox (emo-box/EmoBox).

EmoBox (Ma et al., Interspeech 2024) publishes, per corpus, ``data/<corpus>/fold_<k>/<corpus>_{train,test}_fold_<k>
.jsonl``: one JSON object per utterance with its audio path (``wav``) and EmoBox's label (``emo``, in the corpus's
``label_map.json`` vocabulary). This reads those files for the corpora the suite has adapters for and writes
``corpus, utterance_id, emotion, test_fold`` (the suite's utterance id: the audio file's name without extension;
the canonical emotion; the 1-based EmoBox fold whose test set holds the utterance, 0 where it is only ever trained on,
as TESS's 2,100 training utterances of its one fold)::

    python -m serbench.emobox.build /path/to/EmoBox src/serbench/emobox/folds.csv
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from serbench.atomic import write_csv
from serbench.corpora import savee, tess
from serbench.errors import InputError

# EmoBox's label of each corpus (data/<corpus>/label_map.json keys) -> the canonical emotion (serbench.labels)
LABELS: dict[str, dict[str, str]] = {
    "emodb": {
        "anger": "anger",
        "boredem": "boredom",
        "disgust": "disgust",
        "fear": "fear",
        "happy": "happiness",
        "neutral": "neutral",
        "sad": "sadness",
    },
    "ravdess": {
        "Angry": "anger",
        "Calm": "calm",
        "Disgust": "disgust",
        "Fearful": "fear",
        "Happy": "happiness",
        "Neutral": "neutral",
        "Sad": "sadness",
        "Surprised": "surprise",
    },
    "savee": savee.EMOTIONS,  # EmoBox keeps SAVEE's and TESS's own codes
    "tess": tess.EMOTIONS,
}


# EmoBox's file names that differ from the official distribution's (the corpus adapters read the official ones)
OFFICIAL_NAMES: dict[str, dict[str, str]] = {"tess": {"OAF_bite_neutral": "OA_bite_neutral"}}


def read_fold_file(path: Path, corpus: str) -> pd.DataFrame:
    """One EmoBox fold file -> ``utterance_id, emotion``.

    Raises:
        InputError: a label outside :data:`LABELS` of the corpus (the message names the file and the label).
    """
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    unknown = sorted({r["emo"] for r in rows} - set(LABELS[corpus]))
    if unknown:
        raise InputError(f"{path}: EmoBox labels {unknown} not in the {corpus} label map")
    return pd.DataFrame(
        {
            "utterance_id": [
                OFFICIAL_NAMES.get(corpus, {}).get(stem, stem) for stem in (Path(r["wav"]).stem for r in rows)
            ],
            "emotion": [LABELS[corpus][r["emo"]] for r in rows],
        }
    )


def corpus_folds(root: Path, corpus: str) -> pd.DataFrame:
    """Every fold of one corpus -> ``corpus, utterance_id, emotion, test_fold``.

    Raises:
        InputError: no fold folders, a fold without both files, an utterance tested in two folds, given two labels,
            or in neither subset of some fold.
    """
    folders = sorted((root / "data" / corpus).glob("fold_*"), key=lambda p: int(p.name.split("_")[1]))
    if not folders:
        raise InputError(f"{root / 'data' / corpus}: no fold_<k> folders")
    parts = []
    for folder in folders:
        k = int(folder.name.split("_")[1])
        for subset in ("train", "test"):
            path = folder / f"{corpus}_{subset}_fold_{k}.jsonl"
            if not path.is_file():
                raise InputError(f"{path}: missing")
            parts.append(read_fold_file(path, corpus).assign(fold=k, subset=subset))
    rows = pd.concat(parts, ignore_index=True)
    labels = rows.groupby("utterance_id")["emotion"].nunique()
    tested = rows[rows["subset"] == "test"].groupby("utterance_id")["fold"]
    per_fold = rows.groupby("utterance_id")["fold"].nunique()
    problems = {
        "given two labels": labels.index[labels > 1],
        "tested in two folds": tested.nunique().index[tested.nunique() > 1],
        "missing from a fold": per_fold.index[per_fold < len(folders)],
    }
    for problem, ids in problems.items():
        if len(ids):
            raise InputError(f"{root / 'data' / corpus}: {len(ids)} utterances {problem}, e.g. {list(ids[:3])}")
    table = rows.drop_duplicates("utterance_id")[["utterance_id", "emotion"]].set_index("utterance_id")
    table["test_fold"] = tested.first().reindex(table.index).fillna(0).astype(int)
    return table.reset_index().assign(corpus=corpus)[["corpus", "utterance_id", "emotion", "test_fold"]]


def build(root: Path) -> pd.DataFrame:
    """The fold table of every corpus of :data:`LABELS`, sorted by corpus and utterance id."""
    table = pd.concat([corpus_folds(root, corpus) for corpus in LABELS], ignore_index=True)
    return table.sort_values(["corpus", "utterance_id"], ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("emobox", type=Path, help="a checkout of emo-box/EmoBox")
    parser.add_argument("out", type=Path, help="the fold table written (CSV)")
    args = parser.parse_args()
    write_csv(args.out, build(args.emobox))


if __name__ == "__main__":
    main()
