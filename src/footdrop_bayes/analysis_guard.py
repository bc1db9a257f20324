"""Steps of :func:`~footdrop_bayes.analysis.analyse` that must not lose a fit.

The Cox model is fitted only when there are terms (a Cox model of nothing is the
Kaplan–Meier curve) and a failing lifelines fit leaves an empty Cox table with the reason;
a summary that fails after sampling leaves an empty table and a warning, so the posterior
still reaches the output folder.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import pandas as pd

from . import classical
from .classical.cox_output import empty_cox
from .errors import OutputWarning
from .summaries.importance import RANKING_COLUMNS


def fit_cox(cohort, factors: Sequence[str], covariates: Sequence[str], *, alpha: float,
            **options):
    """:func:`classical.cox` (``options``: its ``group``, ``group_handling``), or an empty
    result naming why there is none."""
    if not factors and not covariates:
        return empty_cox("")
    try:
        return classical.cox(cohort, list(factors), list(covariates), alpha=alpha,
                             **options)
    except Exception as exc:     # the Bayesian analysis goes on without it
        msg = (f"Cox model: lifelines could not fit it ({type(exc).__name__}: {exc}); the "
               "Cox table is empty")
        warnings.warn(msg, OutputWarning, stacklevel=2)
        return empty_cox(msg)


def empty_ranking(interval: float) -> pd.DataFrame:
    """A factor-ranking table without rows (a model with no factors or covariates)."""
    df = pd.DataFrame(columns=RANKING_COLUMNS)
    df.attrs["interval"] = float(interval)
    return df


def guarded_summary(name: str, step: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """Run a summary of a fitted model; on failure warn and return an empty table."""
    try:
        return step()
    except Exception as exc:     # the fit itself must reach the disk
        warnings.warn(f"{name} could not be computed ({type(exc).__name__}: {exc}); its "
                      "table is empty", OutputWarning, stacklevel=2)
        return pd.DataFrame()


def third_party_notice(w: warnings.WarningMessage) -> bool:
    """A dependency's notice that says nothing about the analysis.

    Deprecation / future-API notices (e.g. arviz's; the library raises none itself) and
    numba's compilation-cache notices ("Cannot cache compiled function ..."): kept out of
    the report and the command line's warning lines.
    """
    if issubclass(w.category, (FutureWarning, DeprecationWarning,
                               PendingDeprecationWarning)):
        return True
    return (type(w.message).__module__.startswith("numba")
            or w.category.__name__.startswith("Numba")
            or "Cannot cache compiled function" in str(w.message))
