"""Snakemake's console as it is, with the time a run has left after each ``N of M steps done`` line
(:mod:`snakemake_logger_plugin_serbench.eta`). The workflow's default profile names it (``logger: [serbench]``).

Snakemake loads every installed logger plugin when it starts, named or not, so this package imports nothing of
serbench: a run of any serbench version in the environment (an older checkout on ``PYTHONPATH``) still starts."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from logging import LogRecord

from snakemake.logging import ColorizingTextHandler
from snakemake_interface_logger_plugins.base import LogHandlerBase
from snakemake_interface_logger_plugins.common import LogEvent
from snakemake_interface_logger_plugins.settings import LogHandlerSettingsBase

from snakemake_logger_plugin_serbench.eta import RunClock, describe, earlier_durations


@dataclass
class LogHandlerSettings(LogHandlerSettingsBase):
    """No settings."""


class LogHandler(LogHandlerBase):
    """Snakemake's own console handler, and after each progress line the estimate of
    :class:`~snakemake_logger_plugin_serbench.eta.RunClock`."""

    def __post_init__(self) -> None:
        stream = sys.stdout if self.common_settings.stdout else sys.stderr
        self.console = ColorizingTextHandler(nocolor=self.common_settings.nocolor, stream=stream)
        self.clock = RunClock()

    def emit(self, record: LogRecord) -> None:
        event = getattr(record, "event", None)
        if event == LogEvent.RUN_INFO and isinstance(getattr(record, "stats", None), dict):
            self.clock.planned(record.stats, earlier_durations())
        elif event == LogEvent.JOB_INFO:
            self.clock.started(record.jobid, record.rule_name)
        elif event == LogEvent.JOB_FINISHED:
            self.clock.finished(record.job_id)
        if self.console.formatter is None:
            self.console.setFormatter(self.formatter)
        self.console.emit(record)
        left = self.clock.left() if event == LogEvent.PROGRESS and record.done < record.total else None
        if left is not None:
            self.console.stream.write(f"{describe(left)} (from the jobs finished so far, by rule)\n")
            self.console.flush()

    @property
    def writes_to_stream(self) -> bool:
        return True

    @property
    def writes_to_file(self) -> bool:
        return False

    @property
    def has_filter(self) -> bool:
        return False

    @property
    def has_formatter(self) -> bool:
        return False

    @property
    def needs_rulegraph(self) -> bool:
        return False
