"""How long a Snakemake run has left, from the jobs finished so far.

Snakemake's console says ``N of M steps (x%) done``; a rule's jobs can differ in cost by orders of magnitude
(a manifest in a second, a cell's training in many minutes), so a share of steps says little about time. This
estimates per rule: each job still to run costs the mean wall time of its rule's finished jobs, this run's and
those Snakemake recorded in earlier runs of the same working directory (so a resumed run's first estimate already
knows its dear rules; the mean of all finished jobs stands in for a rule with none), and the run's elapsed time
scales with that work: ``left = elapsed × work_left / work_done``, work done being this run's, which carries the
parallelism the run has had.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from statistics import fmean

METADATA = Path(".snakemake/metadata")


class RunClock:
    """Jobs planned, started and finished in one run, and the time it has left.

    >>> now = iter([0.0, 0.0, 10.0, 10.0, 30.0, 30.0]).__next__
    >>> clock = RunClock(now)
    >>> clock.planned({"train": 3, "table": 1})
    >>> clock.started(1, "train"); clock.started(2, "train"); clock.finished(1); clock.finished(2)
    >>> clock.left()  # 2 train jobs of 10 s in 30 s so far; 1 train (10 s) and 1 table (the mean: 10 s) to go
    30.0

    With a resumed run's earlier jobs (:func:`earlier_durations`), a rule this run has not finished yet costs theirs:

    >>> clock.planned({"train": 3, "table": 1}, earlier={"table": [2.0]})
    >>> clock.left()  # 1 train (10 s) and 1 table (2 s) to go
    18.0
    """

    def __init__(self, now: Callable[[], float] = time.monotonic):
        self._now = now
        self._planned: Counter[str] = Counter()
        self._running: dict[int, tuple[str, float]] = {}
        self._durations: dict[str, list[float]] = {}
        self._earlier: dict[str, list[float]] = {}
        self._first: float | None = None

    def planned(self, counts: dict[str, int], earlier: dict[str, list[float]] | None = None) -> None:
        """The run's jobs per rule (Snakemake's job stats; a ``total`` entry is ignored) and the wall seconds of
        each rule's jobs finished in earlier runs (rule -> seconds), if any."""
        self._planned = Counter({rule: n for rule, n in counts.items() if rule != "total"})
        self._earlier = dict(earlier or {})

    def started(self, jobid: int, rule: str) -> None:
        when = self._now()
        self._first = when if self._first is None else self._first
        self._running[jobid] = (rule, when)

    def finished(self, jobid: int) -> None:
        """A job done (one never seen starting, as a job of an earlier run, is ignored)."""
        if jobid in self._running:
            rule, start = self._running.pop(jobid)
            self._durations.setdefault(rule, []).append(self._now() - start)

    def left(self) -> float | None:
        """Seconds the run has left; ``None`` before a job has finished or without a plan."""
        done = [d for durations in self._durations.values() for d in durations]
        if not self._planned or self._first is None or sum(done) <= 0:
            return None
        pooled = {rule: self._earlier.get(rule, []) + self._durations.get(rule, []) for rule in self._planned}
        fallback = fmean(done + [d for durations in self._earlier.values() for d in durations])
        work_left = sum(
            max(n - len(self._durations.get(rule, ())), 0) * (fmean(pooled[rule]) if pooled[rule] else fallback)
            for rule, n in self._planned.items()
        )
        return (self._now() - self._first) * work_left / sum(done)


def earlier_durations(metadata: Path = METADATA) -> dict[str, list[float]]:
    """Rule -> wall seconds of each job Snakemake recorded as finished in this working directory: its records of
    the outputs it made (``.snakemake/metadata``, one JSON file per output: rule, job hash, start and end time; a
    job's outputs, ended together, count once). Empty without records; a record that does not read, or has no
    times, is left out (an estimate needs no more)."""
    starts: dict[tuple[str, object, float], float] = {}
    for path in metadata.glob("*") if metadata.is_dir() else ():
        try:
            record = json.loads(path.read_text())
            job = (str(record["rule"]), record.get("job_hash"), float(record["endtime"]))
            start = float(record["starttime"])
        except (OSError, ValueError, TypeError, KeyError):
            continue
        if not record.get("incomplete") and job[2] >= start:
            starts[job] = min(start, starts.get(job, start))
    durations: dict[str, list[float]] = {}
    for (rule, _, end), start in sorted(starts.items(), key=lambda item: item[0][2]):
        durations.setdefault(rule, []).append(end - start)
    return durations


def describe(seconds: float) -> str:
    """Time left in words, to the minute.

    >>> describe(20), describe(125), describe(3 * 3600 + 7 * 60)
    ('under a minute left', 'about 2 min left', 'about 3 h 7 min left')
    """
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under a minute left"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes} min left" if hours else f"about {minutes} min left"
