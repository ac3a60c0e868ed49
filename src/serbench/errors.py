"""The suite's expected failures: what a user's input or machine can cause, reported in one line.

A workflow step or CLI command that raises one of :data:`EXPECTED_FAILURES` ends with
``serbench <step>: error: <message>`` and exit status 2 (:func:`serbench.workflow.snakemake_job`); any other
exception, a :class:`FileNotFoundError` from inside a step included, is a bug or an unforeseen fault and keeps its
traceback in the job's log, which the console names.
Each error type subclasses the built-in type it refines, so ``except ValueError`` still catches bad values.
"""

from __future__ import annotations


class SerbenchError(Exception):
    """An expected failure: the message names the file, key or run, and what to do."""


class InputError(SerbenchError, ValueError):
    """Input data or a setting that the data cannot satisfy (a fold table without a subset, too few speakers for
    the folds asked for, a b̄ budget no assignment meets); the message names the file or key."""


class UnknownNameError(SerbenchError, KeyError):
    """A name that no registry holds (corpus, model family, quantizer, encoder architecture, upstream); the message
    lists the registered names."""

    def __str__(self) -> str:
        """The message itself, not :class:`KeyError`'s quoted repr of it."""
        return str(self.args[0]) if self.args else ""


EXPECTED_FAILURES = (SerbenchError,)  # the only exceptions that end in one line; every other keeps its traceback
