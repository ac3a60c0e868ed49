"""Pooling the quantize step's per-utterance results: time and peak memory of :func:`split_records` beside the plain
alternative (one table of Python objects, as the table step built before) and beside the floor (the codes alone).

The ten-seed grid's table step reads 14.1 million test utterances; this pools 2,000 run records of 700 utterances
(1.4 million rows, TESS-shaped: 2,800 utterance names, 2 speakers), with the record lists read once as a
generator would give them. The peak (``tracemalloc``, MB) is in each row's ``extra_info``.

Run on demand: ``pytest tests/benchmarks/test_pooling_memory.py --benchmark-only --benchmark-columns=min,mean``.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from serbench.studies.quantization.pooling import KEYS, split_records

RECORDS, TESTED, NAMES = 2000, 700, 2800


def records() -> list[dict]:
    rng = np.random.default_rng(0)
    names = [f"OAF_word{i}_emotion" for i in range(NAMES)]
    out = []
    for number in range(RECORDS):
        chosen = rng.choice(NAMES, TESTED, replace=False)
        out.append(
            dict(dataset="tess", features="egemaps", model="lstm", protocol="random", quantizer="uniform")
            | {"variant": f"fixed{number % 8 + 1}", "seed": number % 10, "fold": "0"}
            | {"test_utterances": [names[i] for i in chosen], "test_speakers": [f"tess/{i % 2}" for i in chosen]}
            | {"test_correct": "".join(rng.choice(["0", "1"], TESTED))}
        )
    return out


def categorical(rows: list[dict]) -> pd.DataFrame:
    """What the table step does: :func:`split_records`."""
    return split_records(iter(rows))[1]


def python_objects(rows: list[dict]) -> pd.DataFrame:
    """The plain alternative: every column a list of Python objects, one entry per utterance."""
    columns: dict[str, list] = {k: [] for k in [*KEYS, "seed", "utterance", "speaker", "unit", "correct"]}
    for record in rows:
        n = len(record["test_utterances"])
        for key in [*KEYS, "seed"]:
            columns[key].extend([record[key]] * n)
        columns["utterance"].extend(record["test_utterances"])
        columns["speaker"].extend(record["test_speakers"])
        columns["unit"].extend(record["test_utterances"])
        columns["correct"].extend(c == "1" for c in record["test_correct"])
    return pd.DataFrame(columns)


def codes_only(rows: list[dict]) -> pd.DataFrame:
    """The floor: a row's run and unit as integers and its result as a bool, nothing else."""
    names = {name: code for code, name in enumerate(sorted({u for r in rows for u in r["test_utterances"]}))}
    unit = np.concatenate([np.fromiter(map(names.get, r["test_utterances"]), np.int32) for r in rows])
    correct = np.concatenate([np.frombuffer(r["test_correct"].encode(), np.uint8) == ord("1") for r in rows])
    return pd.DataFrame(
        {"run": np.repeat(np.arange(len(rows), dtype=np.int32), TESTED), "unit": unit, "correct": correct}
    )


@pytest.mark.benchmark(group="pooling 1.4 million test utterances")
@pytest.mark.parametrize("arm", [categorical, python_objects, codes_only], ids=lambda f: f.__name__)
def test_pooling_memory(benchmark, arm):
    rows = records()
    tracemalloc.start()
    table = arm(rows)
    benchmark.extra_info["peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 1e6, 1)
    tracemalloc.stop()
    benchmark.pedantic(arm, args=(rows,), rounds=2)
    assert len(table) == RECORDS * TESTED and int(table["correct"].sum()) == sum(
        r["test_correct"].count("1") for r in rows
    )
