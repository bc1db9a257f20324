r"""Kaplan–Meier curves of recovery, medians and numbers at risk (on lifelines).

The event is recovery, so the curves shown are the cumulative probability of recovery
:math:`F(t) = 1 - \hat S(t)`, where :math:`\hat S` is lifelines' Kaplan–Meier estimate of
the probability of *not yet* being recovered. Recovery times are the first visits at which
recovery was recorded; patients never seen recovered (withdrawn or not) are censored at
their last unrecovered visit. Every observed time lies on the visit grid, so evaluating
the step function at the grid times is exact.

Confidence bands (pointwise, level :math:`1 - \alpha`) use Greenwood's variance
:math:`\sigma^2(t) = \sum_{t_j \le t} d_j / (n_j (n_j - d_j))` of :math:`\log \hat S(t)`:

- ``"log-log"`` (lifelines' default, the "exponential Greenwood" band):
  :math:`\hat S^{\exp(\pm z \sigma / \log \hat S)}`; always inside [0, 1];
- ``"log"`` (R ``survfit``'s default): :math:`\hat S \exp(\pm z \sigma)`, capped at 1;
- ``"plain"`` (the linear Greenwood band): :math:`\hat S (1 \pm z \sigma)`, clipped to [0, 1].

Before the first recovery (:math:`\hat S = 1`) the band is the point 1. Where everyone
still at risk has recovered (:math:`\hat S = 0`, 100 % recovered) Greenwood's variance is
undefined (its last term divides by :math:`n_j - d_j = 0`) and the band is NaN, "not
estimable", as in R's ``survfit``: a band of zero width there would claim certainty that
a handful of patients cannot give.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times
from scipy import stats

from ..cohort import Cohort
from ..errors import DataError
from ._common import collapse, durations, factor_series, prepare, row_weights

CI_METHODS = ("log-log", "log", "plain")


def _check(alpha: float, ci: str) -> None:
    if not 0 < alpha < 1:
        raise DataError(f"alpha must lie in (0, 1), got {alpha!r}")
    if ci not in CI_METHODS:
        raise DataError(f"unknown confidence band {ci!r}; choose one of {CI_METHODS}")


def _groups(cohort: Cohort, by: str | None) -> list[tuple[object, np.ndarray]]:
    if by is None:
        return [("all", np.ones(len(cohort.intervals), bool))]
    s = factor_series(cohort, by)
    return [(lv, (s == lv).to_numpy()) for lv in s.cat.categories]


def fit_km(t: np.ndarray, e: np.ndarray, grid: np.ndarray, alpha: float,
           ci: str = "log-log", weights: np.ndarray | None = None) -> pd.DataFrame:
    """Kaplan–Meier on the grid: ``survival, survival_low, survival_high, at_risk, events,
    censored`` indexed by grid time. ``t`` must lie on ``grid``.

    Fitted on the distinct (time, event) rows weighted by their counts (exact);
    ``weights``: patients per row of a collapsed cohort."""
    grid = np.asarray(grid, float)
    # one row per distinct (time, event) with its count: exact, whatever the cohort size
    t, e, _, w = collapse(t, e, weights=weights)
    out = pd.DataFrame(index=pd.Index(grid, name="time"))
    out["at_risk"] = [int(w[t >= g].sum()) for g in grid]
    out["events"] = [int(w[(t == g) & e].sum()) for g in grid]
    out["censored"] = [int(w[(t == g) & ~e].sum()) for g in grid]
    if len(t) == 0:
        for c in ("survival", "survival_low", "survival_high"):
            out[c] = np.nan
        return out
    kmf = KaplanMeierFitter(alpha=alpha).fit(t, e, timeline=grid, weights=w)
    s = kmf.survival_function_.iloc[:, 0].to_numpy()
    if ci == "log-log":
        band = kmf.confidence_interval_survival_function_.to_numpy()
        lo, hi = band[:, 0], band[:, 1]
    else:
        et = kmf.event_table
        n, d = et["at_risk"].to_numpy(float), et["observed"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(n > d, d / (n * (n - d)), 0.0)
        gw = pd.Series(np.cumsum(term), index=et.index).reindex(grid, method="ffill")
        sd = np.sqrt(gw.fillna(0.0).to_numpy())
        z = stats.norm.ppf(1 - alpha / 2)
        if ci == "log":
            lo, hi = s * np.exp(-z * sd), np.minimum(1.0, s * np.exp(z * sd))
        else:
            lo, hi = np.clip(s * (1 - z * sd), 0, 1), np.clip(s * (1 + z * sd), 0, 1)
    out["survival"] = s
    out["survival_low"] = np.where(s >= 1.0, s, np.where(s <= 0.0, np.nan, lo))
    out["survival_high"] = np.where(s >= 1.0, s, np.where(s <= 0.0, np.nan, hi))
    return out


def kaplan_meier(cohort: Cohort, by: str | None = None, *, alpha: float = 0.05,
                 ci: str = "log-log", bands: Mapping | None = None) -> xr.Dataset:
    """Kaplan–Meier cumulative probability of recovery, overall or per level of a factor.

    Parameters
    ----------
    cohort : Cohort
        The cohort.
    by : str, optional
        A factor (or a banded numeric covariate, see ``bands``); ``None`` for all patients.
    alpha : float
        The bands are pointwise ``1 - alpha`` confidence intervals.
    ci : {"log-log", "log", "plain"}
        Band construction (see the module docstring); ``"log-log"`` is lifelines' default.
    bands : mapping, optional
        Band specifications for numeric covariates (see :func:`band_covariates`).

    Returns
    -------
    xarray.Dataset
        Dims ``(by, time)`` — named after the factor and ``cohort.time_unit``, with the
        factor's levels (reference first) and the grid times as coords; only the time
        dim when ``by`` is None. Variables: ``recovered`` (1 − S(t)), ``recovered_low``,
        ``recovered_high``, ``at_risk`` (number with observed time ≥ t, i.e. at risk just
        before t: the at-risk table under a KM plot), ``events`` (recoveries recorded at
        t) and ``censored`` (patients last seen unrecovered at t). Attributes record
        ``alpha``, ``ci``, ``by`` and ``time_unit``.
    """
    _check(alpha, ci)
    cohort = prepare(cohort, bands)
    t, e = (x.to_numpy() for x in durations(cohort))
    w = row_weights(cohort)
    tdim = cohort.time_unit
    frames = {lv: fit_km(t[m], e[m], cohort.grid, alpha, ci, weights=w[m])
              for lv, m in _groups(cohort, by)}
    variables = {}
    for name, src, flip in [("recovered", "survival", False),
                            ("recovered_low", "survival_high", True),
                            ("recovered_high", "survival_low", True),
                            ("at_risk", "at_risk", None), ("events", "events", None),
                            ("censored", "censored", None)]:
        arr = np.stack([f[src].to_numpy() for f in frames.values()])
        if flip is not None:
            arr = 1.0 - arr
        variables[name] = arr
    coords = {tdim: cohort.grid}
    if by is None:
        data_vars = {k: ((tdim,), v[0]) for k, v in variables.items()}
    else:
        coords[by] = list(frames)
        data_vars = {k: ((by, tdim), v) for k, v in variables.items()}
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs.update(alpha=alpha, ci=ci, by=by or "", time_unit=tdim,
                    estimate="cumulative probability of recovery, 1 - S(t) (Kaplan-Meier)")
    return ds


def median_recovery(cohort: Cohort, by: str | None = None, *, alpha: float = 0.05,
                    ci: str = "log-log", bands: Mapping | None = None) -> pd.DataFrame:
    """Median time to recovery with its confidence interval, or "not reached".

    The median is the first time at which the Kaplan–Meier cumulative recovery reaches
    50 % (lifelines' ``median_survival_times``); its interval is where the pointwise
    band crosses 50 % (Brookmeyer–Crowley style, using the band chosen by ``ci``).

    Returns
    -------
    DataFrame
        Indexed by level (index named after ``by``, or ``"all"``) with columns ``n``,
        ``recovered`` (events), ``median``, ``median_low``, ``median_high`` (``inf`` when
        not reached within follow-up) and ``summary`` (e.g. ``"3 (2 to 4)"``,
        ``"not reached"``, ``"5 (3 to not reached)"``).
    """
    _check(alpha, ci)
    cohort = prepare(cohort, bands)
    t, e = (x.to_numpy() for x in durations(cohort))
    w = row_weights(cohort)
    rows = {}
    for lv, m in _groups(cohort, by):
        f = fit_km(t[m], e[m], cohort.grid, alpha, ci, weights=w[m])
        med = [float(median_survival_times(f[c])) for c in
               ("survival", "survival_low", "survival_high")]
        rows[lv] = {"n": int(np.rint(w[m].sum())), "recovered": int(np.rint(w[m & e].sum())),
                    "median": med[0],
                    "median_low": med[1], "median_high": med[2]}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = by or "all"
    out["summary"] = [_median_text(r) for r in out.itertuples()]
    return out


def _fmt(x: float) -> str:
    return "not reached" if not np.isfinite(x) else f"{x:g}"


def _median_text(r) -> str:
    if not np.isfinite(r.median):
        return "not reached"
    return f"{_fmt(r.median)} ({_fmt(r.median_low)} to {_fmt(r.median_high)})"


def at_risk_table(cohort: Cohort, by: str | None = None, *, times=None,
                  bands: Mapping | None = None) -> pd.DataFrame:
    """Number at risk (observed time ≥ t) per level at each visit time.

    Parameters
    ----------
    times : sequence of float, optional
        Times to report; default the cohort's grid (every visit month).

    Returns
    -------
    DataFrame
        Index: levels (named after ``by``, or ``"all"``); columns: the times (named
        ``cohort.time_unit``).
    """
    cohort = prepare(cohort, bands)
    t, _ = (x.to_numpy() for x in durations(cohort))
    w = row_weights(cohort)
    times = cohort.grid if times is None else np.asarray(times, float)
    rows = {lv: [int(np.rint(w[m][t[m] >= g].sum())) for g in times]
            for lv, m in _groups(cohort, by)}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=pd.Index(times,
                                                                         name=cohort.time_unit))
    out.index.name = by or "all"
    return out
