"""Helpers shared by the classical analyses: choosing a grouping factor, durations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..cohort import Cohort
from ..errors import DataError
from .bands import band_covariates


def prepare(cohort: Cohort, bands: Mapping | None) -> Cohort:
    """Apply ``bands`` (if any) to the cohort."""
    return band_covariates(cohort, bands) if bands else cohort


def factor_series(cohort: Cohort, factor: str) -> pd.Series:
    """The factor's Categorical column (levels in the cohort's order, reference first)."""
    if factor in cohort.factors:
        return cohort.covariates[factor]
    if factor in cohort.numeric:
        raise DataError(f"{factor!r} is a numeric covariate; group it into named bands first "
                        f"(bands={{{factor!r}: Bands(cuts, labels)}})")
    raise DataError(f"unknown factor {factor!r}; the cohort's factors are "
                    f"{list(cohort.factors)}")


def factor_list(cohort: Cohort, factors: str | Sequence[str] | None) -> list[str]:
    """``None`` -> all factors of the cohort; a single name -> a one-element list."""
    if factors is None:
        return list(cohort.factors)
    names = [factors] if isinstance(factors, str) else list(factors)
    for f in names:
        factor_series(cohort, f)
    return names


def durations(cohort: Cohort) -> tuple[pd.Series, pd.Series]:
    """Observed times and event indicators in the lifelines convention.

    Recovery times are the first recovered visits; censoring times the last unrecovered
    visits (withdrawn patients are censored there, never dropped).
    """
    return cohort.duration.astype(float), cohort.intervals["event"].astype(bool)


def row_weights(cohort: Cohort) -> np.ndarray:
    """Patients per row: ``cohort.weights`` of a collapsed cohort, else ones."""
    w = getattr(cohort, "weights", None)
    return np.ones(len(cohort.intervals)) if w is None else w.to_numpy(float)


def collapse(t, e, groups=None, weights=None) -> tuple[np.ndarray, ...]:
    """Distinct (time, event[, group]) rows and how many patients each stands for.

    Kaplan–Meier, Greenwood's variance and the (weighted) log-rank statistics depend on
    the data only through the numbers at risk and of events at each time, so fitting
    lifelines on these rows with the counts as (integer) weights gives exactly the
    per-patient results, whatever the number of patients.

    ``weights`` (patients per row of a collapsed cohort) are summed instead of counting
    rows.

    Returns
    -------
    t, e, groups, weights : ndarray
        ``groups`` is None when not given; ``weights`` are integer counts.
    """
    from .._rows import unique_rows

    t = np.asarray(t, float)
    e = np.asarray(e, bool)
    cols = [t, e] + ([np.asarray(groups, np.int64)] if groups is not None else [])
    first, inverse, counts = unique_rows(cols)
    if weights is not None:
        counts = np.rint(np.bincount(inverse, weights=np.asarray(weights, float),
                                     minlength=len(first))).astype(np.int64)
    g = cols[2][first] if groups is not None else None
    return t[first], e[first], g, counts
