"""Progress of a job's long loops: ``i/N``, elapsed time and an estimate of the rest, one log line at a time.

tqdm keeps the count, the rate and the estimate; its lines go to the job's log (the rule's log file under
Snakemake, the console when a script runs stand-alone, see :func:`serbench.workflow.snakemake_job`). A loop that
ends within ``delay`` seconds logs nothing, so quick loops (an MLP's epochs) add no noise.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")
LINE = "{{desc}}: {{n_fmt}}/{{total_fmt}} {units} [{{elapsed}} elapsed, {{remaining}} left, {{rate_inv_fmt}}]"
CONTROL = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # a terminal's cursor moves, which tqdm sends for nested loops


def plural(unit: str) -> str:
    """English plural of a one-word unit.

    >>> plural("run"), plural("batch"), plural("epoch")
    ('runs', 'batches', 'epochs')
    """
    sibilant = unit.endswith(("s", "sh", "ch", "x")) and unit != "epoch"  # its "ch" is said as k
    return unit + ("es" if sibilant else "s")


class _LogLines:
    """A file for tqdm that hands each refreshed line to a logger once, without tqdm's carriage returns and cursor
    moves."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self.last = ""

    def write(self, text: str) -> None:
        line = " ".join(CONTROL.sub("", text).split())
        if line and line != self.last:
            self.logger.info(line)
            self.last = line

    def flush(self) -> None:
        """Nothing to flush: every line is logged as it comes."""


def progress(
    items: Iterable[T], desc: str, unit: str, total: int | None = None, every: float = 30.0, delay: float = 10.0
) -> Iterator[T]:
    """``items``, logging ``desc: i/N unit [elapsed, left, s/unit]`` at most every ``every`` s after ``delay`` s.

    Args:
        items: what the loop runs over; its length is ``N`` unless ``total`` is given.
        desc: what the loop does, e.g. ``"quantize emodb/random mlp"``.
        unit: what one item is, singular: ``"run"``, ``"epoch"``, ``"file"``.
        total: ``N`` for an iterable without a length.
        every: seconds between log lines (tqdm's ``mininterval``).
        delay: seconds before the first line (a shorter loop logs nothing).

    >>> list(progress(range(3), "demo", "item"))
    [0, 1, 2]
    """
    return iter(
        tqdm(
            items,
            desc=desc,
            unit=unit,
            total=total,
            file=_LogLines(logging.getLogger("progress")),
            mininterval=every,
            maxinterval=max(every, 60.0),
            delay=delay,
            bar_format=LINE.format(units=plural(unit)),
            ascii=True,
        )
    )
