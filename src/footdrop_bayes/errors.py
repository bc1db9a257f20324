"""Exceptions and warnings raised by footdrop_bayes."""

from __future__ import annotations

from collections.abc import Iterable


class DataError(ValueError):
    """Input data that cannot be analysed as given.

    The message names the table, the column and the offending patients.
    """


class DataWarning(UserWarning):
    """Input data that was accepted, with something the user should know."""


class ConvergenceWarning(UserWarning):
    """An MCMC fit that missed the convergence thresholds."""


class ConvergenceError(RuntimeError):
    """An MCMC fit that missed the convergence thresholds, when asked to raise."""


def format_ids(ids: Iterable, limit: int = 5) -> str:
    """Format patient ids as ``'a, b, c and 7 more (10 patients)'``.

    Parameters
    ----------
    ids : iterable
        Patient identifiers.
    limit : int
        How many to show before summarising the rest.
    """
    ids = list(dict.fromkeys(ids))
    shown = ", ".join(repr(i) if isinstance(i, str) else str(i) for i in ids[:limit])
    rest = len(ids) - limit
    if rest > 0:
        shown += f" and {rest} more"
    noun = "patient" if len(ids) == 1 else "patients"
    return f"{shown} ({len(ids)} {noun})"


class OutputWarning(UserWarning):
    """A figure, table or report section that could not be produced; the rest was written."""
