"""``serbench predict`` on voice notes of speakers the model never heard: RAVDESS actors 1 and 2 (the cross-corpus
test set), every clip of one actor and emotion joined with 1.5-s pauses (8 clips, about 40 s; neutral: 4 clips,
about 20 s), per note and per 8-s window of speech.

Run on demand with a deployed model: ``SERBENCH_MODEL=results/distilhubert/<upstream>/onnx/model.int8.onnx pytest
tests/benchmarks/test_voice_notes.py --benchmark-only`` (SERBENCH_DATA set). ``extra_info`` gives the accuracy of
the notes' labels and of the windows' labels, and the number of each.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from serbench.studies.distilhubert.predict import load_model, predict_file

DATA, MODEL = os.environ.get("SERBENCH_DATA"), os.environ.get("SERBENCH_MODEL")
pytestmark = pytest.mark.skipif(not (DATA and MODEL), reason="needs SERBENCH_DATA and SERBENCH_MODEL")
EMOTIONS = {"05": "anger", "03": "happiness", "01": "neutral", "04": "sadness"}  # RAVDESS codes, four classes


def voice_notes(folder: Path, pause: float = 1.5) -> list[tuple[Path, str]]:
    """One note per actor and emotion: its clips joined with ``pause`` seconds of silence."""
    notes = []
    for actor in sorted(Path(DATA, "ravdess").glob("Actor_*")):
        for code, emotion in EMOTIONS.items():
            audio = [sf.read(p, dtype="float32", always_2d=True) for p in sorted(actor.glob(f"03-01-{code}-*.flac"))]
            rate = audio[0][1]
            silence = np.zeros(int(pause * rate), dtype=np.float32)
            path = folder / f"{actor.name}_{emotion}.wav"
            sf.write(path, np.concatenate([x for wave, _ in audio for x in (wave.mean(axis=1), silence)]), rate)
            notes.append((path, emotion))
    return notes


@pytest.mark.benchmark(group="voice notes, held-out RAVDESS actors")
def test_voice_note_accuracy(benchmark, tmp_path):
    session, classes, cfg, _ = load_model(MODEL)
    notes = voice_notes(tmp_path)

    def classify() -> list[np.ndarray]:
        return [predict_file(path, session, cfg) for path, _ in notes]

    windows = benchmark.pedantic(classify, rounds=1, warmup_rounds=0)
    truth = [classes.index(emotion) for _, emotion in notes]
    note_hits = [w.mean(axis=0).argmax() == t for w, t in zip(windows, truth)]
    window_hits = [row.argmax() == t for w, t in zip(windows, truth) for row in w]
    benchmark.extra_info |= {
        "notes": len(notes),
        "note_accuracy": float(np.mean(note_hits)),
        "windows": len(window_hits),
        "window_accuracy": float(np.mean(window_hits)),
    }
    assert len(notes) == 8 and len(window_hits) > len(notes)  # the 8-clip notes hold more than one 8-s window
