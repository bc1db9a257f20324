"""Grouping continuous covariates into named bands (age groups, delay groups).

A band specification names the intervals a clinician would use, e.g. age ``<40``,
``40–59``, ``≥60`` (cut points 40 and 60, intervals closed on the left) or delay
``≤1``, ``1–3``, ``>3`` months (cut points 1 and 3, intervals closed on the right).
Banding a cohort turns the numeric covariate into an *ordered* factor of the same name
whose first band is the reference level; the Kaplan–Meier view, the log-rank tests (trend
test included) and the study table then treat it like any other factor.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..cohort import Cohort
from ..errors import DataError, DataWarning


@dataclass(frozen=True)
class Bands:
    """Cut points and names of the bands of one continuous covariate.

    Parameters
    ----------
    cuts : sequence of float
        Inner cut points, strictly increasing (``k`` cuts make ``k + 1`` bands; the outer
        bands are open-ended).
    labels : sequence of str
        Names of the bands, lowest first; one more than ``cuts``.
    closed : {"left", "right"}
        ``"left"``: bands ``[a, b)`` (``Bands([40, 60], ["<40", "40–59", "≥60"])``);
        ``"right"``: bands ``(a, b]`` (``Bands([1, 3], ["≤1", "1–3", ">3"], closed="right")``).
    """

    cuts: Sequence[float]
    labels: Sequence[str]
    closed: str = "left"

    def __post_init__(self):
        cuts = np.asarray(self.cuts, dtype=float)
        if cuts.ndim != 1 or len(cuts) < 1 or not np.all(np.isfinite(cuts)):
            raise DataError(f"band cut points must be one or more finite numbers, got "
                            f"{list(self.cuts)!r}")
        if np.any(np.diff(cuts) <= 0):
            raise DataError(f"band cut points must be strictly increasing, got {list(cuts)}")
        if len(self.labels) != len(cuts) + 1:
            raise DataError(f"{len(cuts)} cut point(s) make {len(cuts) + 1} bands but "
                            f"{len(self.labels)} label(s) were given: {list(self.labels)}")
        if len(set(map(str, self.labels))) != len(self.labels):
            raise DataError(f"band labels must be distinct, got {list(self.labels)}")
        if self.closed not in ("left", "right"):
            raise DataError(f"closed must be 'left' or 'right', got {self.closed!r}")

    def apply(self, values: pd.Series) -> pd.Series:
        """Return ``values`` as an ordered Categorical of band labels (same index)."""
        edges = np.concatenate([[-np.inf], np.asarray(self.cuts, float), [np.inf]])
        out = pd.cut(values.astype(float), bins=edges, labels=[str(lb) for lb in self.labels],
                     right=self.closed == "right", ordered=True)
        return pd.Series(out, index=values.index, name=values.name)


def as_bands(spec) -> Bands:
    """Accept a :class:`Bands` or a ``(cuts, labels[, closed])`` tuple."""
    if isinstance(spec, Bands):
        return spec
    if isinstance(spec, (tuple, list)) and len(spec) in (2, 3):
        return Bands(*spec)
    raise DataError(f"a band specification is Bands(cuts, labels, closed) or a (cuts, labels"
                    f"[, closed]) tuple, got {spec!r}")


def band_covariates(cohort: Cohort, bands: Mapping[str, Bands | tuple] | None) -> Cohort:
    """Return a cohort in which the named numeric covariates are replaced by banded factors.

    Parameters
    ----------
    cohort : Cohort
        The cohort; it is not modified.
    bands : mapping of str to Bands or (cuts, labels[, closed])
        Band specification per numeric covariate, e.g.
        ``{"age": Bands([40, 60], ["<40", "40–59", "≥60"])}``.

    Returns
    -------
    Cohort
        Same patients and intervals; each banded column is now an ordered factor (first
        band = reference level) listed after the cohort's other factors. Bands with no
        patients are dropped with a :class:`~footdrop_bayes.DataWarning`.

    Raises
    ------
    DataError
        If a column is not a numeric covariate of the cohort, or fewer than two bands
        have patients.
    """
    if not bands:
        return cohort
    cov = cohort.covariates.copy()
    new_factors = []
    for col, spec in bands.items():
        if col not in cohort.numeric:
            kind = "a factor" if col in cohort.factors else "not a covariate of the cohort"
            raise DataError(f"bands given for {col!r}, which is {kind}; bands apply to the "
                            f"numeric covariates {list(cohort.numeric)}")
        b = as_bands(spec)
        s = b.apply(cov[col])
        empty = [lv for lv in s.cat.categories if not (s == lv).any()]
        if empty:
            warnings.warn(f"covariate {col!r}: no patients in band(s) {empty}; dropped",
                          DataWarning, stacklevel=2)
            s = s.cat.remove_categories(empty)
        if len(s.cat.categories) < 2:
            raise DataError(f"covariate {col!r}: all patients fall in one band "
                            f"({s.cat.categories[0]!r}); choose other cut points")
        cov[col] = s
        new_factors.append(col)
    factors = list(cohort.factors) + new_factors
    numeric = [c for c in cohort.numeric if c not in new_factors]
    return Cohort(cohort.intervals, cov[factors + numeric], factors=factors, numeric=numeric,
                  grid=cohort.grid, follow_up=cohort.follow_up, time_unit=cohort.time_unit,
                  excluded=cohort.excluded)
