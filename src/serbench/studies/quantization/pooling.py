"""The quantization table's accuracies and paired differences on one pooled basis, with intervals over seeds and
test units.

Every number of a table row pools the test utterances of all its folds and
seeds: accuracy = Σ correct / Σ tested, and a variant's difference against a
reference (fp32, or QAT's control fp32+ft) is the difference of those pooled
accuracies over the same runs and utterances. Two 95 % intervals stand beside
each (:mod:`serbench.intervals`): ``ci95_seeds`` (Student's t over the
per-seed pooled values: another training seed, the same test set) and
``ci95_seeds_units`` (a seeds × test-units bootstrap: another seed and
another draw of test utterances, or of test speakers under the
speaker-independent and cross-corpus protocols).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from serbench.emobox import SHARED_SPEAKERS
from serbench.errors import InputError
from serbench.intervals import seeds_t_interval, seeds_units_interval

CELL = ["dataset", "features", "model", "protocol"]
KEYS = [*CELL, "quantizer", "variant"]
PER_UTTERANCE = ["test_utterances", "test_speakers", "test_correct"]


def unit_of(protocol: str, dataset: str = "") -> str:
    """What a test unit is: an utterance where training and test share speakers (the random split, EmoBox's folds
    of EmoDB and TESS), a speaker under the others.

    >>> unit_of("random"), unit_of("emobox", "emodb"), unit_of("emobox", "savee"), unit_of("speaker_independent")
    ('utterance', 'utterance', 'speaker', 'speaker')
    """
    shared = protocol == "random" or (protocol == "emobox" and dataset in SHARED_SPEAKERS)
    return "utterance" if shared else "speaker"


def utterance_results(records: Iterable[dict], keys: list[str] = KEYS) -> pd.DataFrame:
    """Correct and tested utterances per run record and test unit, held compactly: a ten-seed grid tests some 14
    million utterances, so every string column is categorical, its categories sorted (a sort or a sorted
    ``groupby`` on it orders as on strings).

    Args:
        records: the quantize step's run records, each with ``test_utterances``, ``test_speakers`` and
            ``test_correct`` (one ``"0"``/``"1"`` per test utterance); read once, in order, so a generator of
            one file's records at a time (:func:`split_records`) holds only that file's lists.

    Returns:
        One row per run and test utterance: ``keys + [seed, utterance, speaker, unit, correct]``, ``unit`` being
        the utterance or its speaker (:func:`unit_of`).

    Raises:
        InputError: a record's three per-utterance lists differ in length.
    """
    names: dict[str, int] = {}
    runs, lengths, utterances, speakers, correct, by_speaker = [], [], [], [], [], []
    for record in records:
        tested = record["test_utterances"]
        if not len(tested) == len(record["test_speakers"]) == len(record["test_correct"]):
            raise InputError(f"run {[record[k] for k in keys]} seed {record['seed']}: per-utterance lists differ")
        runs.append([record[k] for k in [*keys, "seed"]])
        lengths.append(len(tested))
        utterances.append(_codes(tested, names))
        speakers.append(_codes(record["test_speakers"], names))
        correct.append(np.asarray(list(record["test_correct"])) == "1")
        by_speaker.append(unit_of(record["protocol"], record["dataset"]) == "speaker")
    runs_frame, counts = pd.DataFrame(runs, columns=[*keys, "seed"]), np.asarray(lengths, dtype=int)
    categories, rank = _sorted_names(names)
    utterance, speaker = (rank[np.concatenate(c or [np.empty(0, np.int32)])] for c in (utterances, speakers))
    unit = np.where(np.repeat(np.asarray(by_speaker, bool), counts), speaker, utterance)
    columns = {key: _repeated(runs_frame[key], counts) for key in keys}
    columns["seed"] = np.repeat(runs_frame["seed"].to_numpy(), counts)
    for column, codes in (("utterance", utterance), ("speaker", speaker), ("unit", unit)):
        columns[column] = pd.Categorical.from_codes(codes, categories)
    columns["correct"] = np.concatenate(correct or [np.empty(0, bool)])
    return pd.DataFrame(columns)


def split_records(
    records: Iterable[dict], keys: list[str] = KEYS, name: Callable[[dict], str] | None = None
) -> tuple[list[dict], pd.DataFrame]:
    """Run records without their per-utterance lists, and :func:`utterance_results` of them, reading ``records``
    once: given a generator over metrics files, only one file's lists are ever Python objects (a ten-seed grid's
    are 0.7 GB of JSON, which as Python lists and an object table took 11 GB).

    Args:
        records: the quantize step's or the allocator curves' run records.
        keys: a table row's columns.
        name: if given, ``record -> variant``, added to each record first (the allocator curves' points).
    """
    runs: list[dict] = []

    def scalars():
        for record in records:
            if name is not None:
                record = record | {"variant": name(record)}
            yield record
            runs.append({k: v for k, v in record.items() if k not in PER_UTTERANCE})

    units = utterance_results(scalars(), keys)
    return runs, units


def _codes(values: list[str], names: dict[str, int]) -> np.ndarray:
    """``values`` as codes into ``names`` (name -> code), new names appended."""
    return np.fromiter((names.setdefault(v, len(names)) for v in values), np.int32, len(values))


def _sorted_names(names: dict[str, int]) -> tuple[pd.Index, np.ndarray]:
    """``names``' keys sorted, and each code's position among them."""
    ordered = sorted(names)
    rank = np.empty(len(ordered), dtype=np.int32)
    rank[[names[name] for name in ordered]] = np.arange(len(ordered), dtype=np.int32)
    return pd.Index(ordered, dtype=object), rank


def _repeated(values: pd.Series, counts: np.ndarray) -> pd.Categorical:
    """Each run's value once per test utterance, as a categorical with sorted categories."""
    codes, uniques = pd.factorize(values, sort=True)
    return pd.Categorical.from_codes(np.repeat(codes, counts), uniques)


def _matrices(rows: pd.DataFrame, seeds: pd.Index, units: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """``(correct, tested)``, each ``(seeds, units)``, of one table row's utterances (rows of other seeds or units
    left out)."""
    seed = seeds.get_indexer(rows["seed"])
    unit = units.get_indexer(rows["unit"].cat.categories)[rows["unit"].cat.codes]
    kept = (seed >= 0) & (unit >= 0)
    cell = seed[kept] * len(units) + unit[kept]
    shape, size = (len(seeds), len(units)), len(seeds) * len(units)
    correct = np.bincount(cell, weights=rows["correct"].to_numpy(float)[kept], minlength=size)
    return correct.reshape(shape), np.bincount(cell, minlength=size).astype(float).reshape(shape)


def pooled_accuracy(units: pd.DataFrame, keys: list[str] = KEYS) -> pd.DataFrame:
    """Per table row (``keys``): pooled accuracy, its std over seeds and both intervals, and the test set's size.

    Returns:
        Columns ``keys + [accuracy, accuracy_seed_std, accuracy_ci95_seeds_low/high,
        accuracy_ci95_seeds_units_low/high, n_test, n_speakers_test]``; ``n_test`` counts distinct test
        utterances over all folds and seeds, ``n_speakers_test`` distinct test speakers.
    """
    rows = []
    for key, group in units.groupby(keys, sort=False, observed=True):
        seeds, cell_units = pd.Index(sorted(group["seed"].unique())), pd.Index(sorted(group["unit"].unique()))
        correct, tested = _matrices(group, seeds, cell_units)
        per_seed = correct.sum(1) / tested.sum(1)
        t_low, t_high = seeds_t_interval(per_seed)
        low, high = seeds_units_interval(correct, tested)
        rows.append(
            dict(zip(keys, key))
            | {"accuracy": correct.sum() / tested.sum(), "accuracy_seed_std": _std(per_seed)}
            | {"accuracy_ci95_seeds_low": t_low, "accuracy_ci95_seeds_high": t_high}
            | {"accuracy_ci95_seeds_units_low": low, "accuracy_ci95_seeds_units_high": high}
            | {"n_test": group["utterance"].nunique(), "n_speakers_test": group["speaker"].nunique()}
        )
    return pd.DataFrame(rows)


def paired_differences(
    units: pd.DataFrame, reference: str, within: list[str], name: str, keys: list[str] = KEYS
) -> pd.DataFrame:
    """Per table row, pooled accuracy minus the ``reference`` variant's over the same runs and utterances.

    Args:
        units: :func:`utterance_results`.
        reference: the ``variant`` compared against (``fp32``: matched on the cell; others also on the
            quantizer, as ``within`` says).
        within: the columns that pair a row with its reference.
        name: the difference's column; intervals are ``<name>_ci95_seeds_*`` and ``<name>_ci95_seeds_units_*``.
        keys: the columns of a table row (``variant`` among them).

    Returns:
        Columns ``keys + [name, <name>_ci95_seeds_low/high, <name>_ci95_seeds_units_low/high]``, one row per
        variant other than the reference that has one.
    """
    references = dict(tuple(units[units["variant"] == reference].groupby(within, sort=False, observed=True)))
    rows = []
    for key, group in units[units["variant"] != reference].groupby(keys, sort=False, observed=True):
        matched = references.get(tuple(group[c].iloc[0] for c in within))
        if matched is None:
            continue
        seeds = pd.Index(sorted(set(group["seed"]) & set(matched["seed"])))
        cell_units = pd.Index(sorted(group["unit"].unique()))
        correct, tested = _matrices(group[group["seed"].isin(seeds)], seeds, cell_units)
        base, _ = _matrices(matched[matched["seed"].isin(seeds)], seeds, cell_units)
        per_seed = (correct - base).sum(1) / tested.sum(1)
        t_low, t_high = seeds_t_interval(per_seed)
        low, high = seeds_units_interval(correct, tested, base)
        rows.append(
            dict(zip(keys, key))
            | {name: (correct - base).sum() / tested.sum()}
            | {f"{name}_ci95_seeds_low": t_low, f"{name}_ci95_seeds_high": t_high}
            | {f"{name}_ci95_seeds_units_low": low, f"{name}_ci95_seeds_units_high": high}
        )
    return pd.DataFrame(rows, columns=[*keys, name, *interval_columns(name)])


def interval_columns(name: str) -> list[str]:
    """The four interval columns of ``name`` (``accuracy``, ``delta_vs_fp32``, ...)."""
    return [f"{name}_ci95_{basis}_{side}" for basis in ("seeds", "seeds_units") for side in ("low", "high")]


def _std(values: np.ndarray) -> float:
    return float(values.std(ddof=1)) if len(values) > 1 else 0.0
