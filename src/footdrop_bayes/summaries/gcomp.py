r"""Recovery probabilities by factor level, by g-computation over the posterior.

For level ``l`` of factor ``f`` and a time ``t`` within follow-up, the probability of
recovery by ``t`` *averaged over the cohort's other characteristics* is, in each
posterior draw ``s``,

.. math::

    P_s(T \le t \mid f = l) = \frac{1}{n} \sum_{i=1}^{n}
        \bigl[1 - S_{i,s}(t \mid f_i := l)\bigr],

i.e. every patient's factor is set to ``l``, the model's recovery curve is computed for
each patient (keeping their other covariates, and their clinic if the model has one), and
the curves are averaged over patients — computed over the distinct profiles of the other
covariates weighted by their counts (identical patients have identical curves), in blocks
of bounded size, never as a patients x draws array. The median and equal-tailed interval over draws
summarise it; differences between levels are taken draw by draw. The observed
Kaplan–Meier recovery proportion of the patients at that level is given alongside.

The median time to recovery of a level is where the averaged curve crosses 1/2, found in
each draw by interpolating the log of the unrecovered fraction linearly within the grid
interval (exact for one patient under a piecewise-constant hazard); when a draw's curve
stays below 1/2 the median is *not reached within follow-up*.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from ._common import (
    SAMPLE_DIMS,
    check_times,
    interval_quantiles,
    model_data,
    summarise,
)
from .observed import km_recovery

#: Upper bound on the number of (sample x profile x time) values evaluated at once.
MAX_BLOCK = 5_000_000


def _default_time(cohort) -> float:
    grid = cohort.grid
    on_grid = np.isclose(grid[1:], cohort.follow_up)
    return float(grid[1:][on_grid][0]) if on_grid.any() else float(grid[-1])


def averaged_recovery(model, data: pd.DataFrame, times) -> xr.DataArray:
    """Recovery curve averaged over the patients (rows) of ``data``, in every draw.

    Identical rows have identical curves: the average is taken over the distinct
    profiles of ``data`` weighted by their counts (:mod:`footdrop_bayes.model.profiles`),
    in blocks of at most :data:`MAX_BLOCK` (sample x profile x time) values so memory
    stays bounded on large cohorts.

    Returns
    -------
    xarray.DataArray
        Dims ``chain, draw, <time_unit>``.
    """
    from ..model.profiles import distinct_profiles, weighted_curves

    times = np.asarray(times, float)
    codes, z, _ = model._profiles(data)
    weights = getattr(model.cohort, "weights", None)      # a collapsed cohort's rows
    codes_u, z_u, _, counts = distinct_profiles(
        codes, z, weights=None if weights is None else weights.reindex(data.index).to_numpy())
    total = weighted_curves(model, codes_u, z_u, counts, times, max_block=MAX_BLOCK)
    return _label(model, total[:, :, 0, 0] / counts.sum(), times)


def _label(model, values: np.ndarray, times, extra: dict | None = None) -> xr.DataArray:
    """Label a (chain, draw, [extra dims], time) array of curve draws."""
    post = model.idata.posterior
    tdim = model.cohort.time_unit
    coords = {"chain": post.chain.values, "draw": post.draw.values}
    dims = ["chain", "draw"]
    for k, v in (extra or {}).items():
        dims.append(k)
        coords[k] = v
    dims.append(tdim)
    coords[tdim] = np.asarray(times, float)
    return xr.DataArray(values, dims=dims, coords=coords, name="recovery_probability")


def _cached(model, key, compute):
    """Memoise per-draw summaries on the model, keyed by its posterior (small arrays)."""
    post = model.idata.posterior
    owner, store = model.__dict__.get("_gcomp_cache", (None, None))
    if owner is not post:                      # a new fit: forget the old posterior's
        store = {}
        model.__dict__["_gcomp_cache"] = (post, store)
    if key not in store:
        store[key] = compute()
    return store[key]


def _factor_draws(model, f: str, times: np.ndarray) -> xr.DataArray:
    """Every patient set to each level of ``f``: draws (chain, draw, f, time)."""
    from ..model.profiles import level_profiles, weighted_curves

    codes, z, counts = level_profiles(model, f)
    b = model.idata.posterior[f"b_{f}"].values                       # (c, d, levels)
    total = weighted_curves(model, codes, z, counts, times, shifts=b - b[..., :1],
                            max_block=MAX_BLOCK)
    levels = [str(c) for c in model.data.levels[f]]
    return _label(model, total[:, :, :, 0] / counts.sum(), times, {f: levels})


def level_recovery_draws(model, *, terms: Sequence[str] | None = None,
                         times=None) -> dict[str, xr.DataArray]:
    """Cohort-averaged recovery probability for every level of each factor, per draw.

    Setting factor ``f`` to level ``l`` for the whole cohort is computed over the
    distinct profiles of the cohort's other covariates, weighted by their counts (the
    same numbers as averaging every patient's curve, without patients x draws arrays).

    Parameters
    ----------
    model : RecoveryModel
        A fitted model.
    terms : sequence of str, optional
        Factors to compute (default all of the model's factors).
    times : sequence of float, "grid" or None
        Any times within follow-up; default every grid time after 0.

    Returns
    -------
    dict of str to xarray.DataArray
        Per factor, draws with dims ``chain, draw, <factor>, <time_unit>`` (a dict, not a
        Dataset, because each variable is named like its own level dim).
    """
    cohort = model.cohort
    times = check_times(times, cohort.grid, cohort.grid[1:], unit=cohort.time_unit)
    terms = list(model.factors) if terms is None else list(terms)
    bad = [t for t in terms if t not in model.factors]
    if bad:
        raise ValueError(f"{bad} are not factors of the model ({list(model.factors)})")
    return {f: _cached(model, ("level", f, tuple(times)),
                       lambda f=f: _factor_draws(model, f, times)) for f in terms}


def overall_recovery_draws(model, *, times=None) -> xr.DataArray:
    """Recovery probability averaged over the cohort as it is, per draw."""
    from ..model.profiles import cohort_rows, distinct_profiles, weighted_curves

    times = check_times(times, model.cohort.grid, model.cohort.grid[1:],
                        unit=model.cohort.time_unit)

    def compute():
        rows, z, weight = cohort_rows(model)
        codes, z, _, counts = distinct_profiles(rows, z, weights=weight)
        total = weighted_curves(model, codes, z, counts, times, max_block=MAX_BLOCK)
        return _label(model, total[:, :, 0, 0] / counts.sum(), times)

    return _cached(model, ("overall", tuple(times)), compute)


def recovery_probabilities(model, times=None, interval: float = 0.95, *,
                           terms: Sequence[str] | None = None, observed: bool = True,
                           overall: bool = True) -> pd.DataFrame:
    """Probability of recovery by each time for every factor level (g-computation).

    Parameters
    ----------
    model : RecoveryModel
        A fitted model.
    times : sequence of float, "grid" or None
        Any times within follow-up, ``(0, last grid time]`` (exact between visits under
        the model's piecewise-constant hazard; the Kaplan–Meier value is its step
        function there); default the end of follow-up; ``"grid"`` for every visit time.
    interval : float
        Mass of the equal-tailed credible interval (and of the Kaplan–Meier confidence
        interval).
    terms : sequence of str, optional
        Factors (default all).
    observed : bool
        Add the Kaplan–Meier recovery proportion of the patients at the level.
    overall : bool
        Add rows ``term = level = "all"``: the cohort as it is.

    Returns
    -------
    DataFrame
        ``recovery_probabilities.csv``: columns ``term, level, time, n, median, low,
        high`` and, with ``observed``, ``km, km_low, km_high`` (probabilities in [0, 1];
        ``n`` = patients at the level).
    """
    cohort = model.cohort
    times = check_times(times, cohort.grid, [_default_time(cohort)], unit=cohort.time_unit)
    data = model_data(model)
    draws = level_recovery_draws(model, terms=terms, times=times)
    tdim = cohort.time_unit
    rows = []
    groups = []
    if overall:
        groups.append(("all", "all", overall_recovery_draws(model, times=times),
                       np.ones(len(data), bool)))
    for f, da in draws.items():
        labels = data[f].astype(str).to_numpy()                  # once per factor
        for lv in da[f].values:
            groups.append((f, str(lv), da.sel({f: lv}, drop=True), labels == str(lv)))
    wt = np.ones(len(data)) if cohort.weights is None else \
        cohort.weights.reindex(data.index).to_numpy(float)      # a collapsed cohort
    duration = cohort.duration.to_numpy(float)
    event = cohort.intervals["event"].to_numpy(bool)
    for term, level, da, mask in groups:
        med, low, high = summarise(da, interval)
        km = (km_recovery(duration[mask], event[mask], times, interval, weights=wt[mask])
              if observed else None)
        for k, t in enumerate(times):
            row = {"term": term, "level": level, "time": float(t),
                   "n": int(np.rint(wt[mask].sum())),
                   "median": float(med.sel({tdim: t})), "low": float(low.sel({tdim: t})),
                   "high": float(high.sel({tdim: t}))}
            if observed:
                row |= {"km": km[0][k], "km_low": km[1][k], "km_high": km[2][k]}
            rows.append(row)
    df = pd.DataFrame(rows)
    df.attrs["interval"] = float(interval)
    return df


def recovery_differences(model, times=None, interval: float = 0.95, *,
                         terms: Sequence[str] | None = None,
                         pairs: Sequence[tuple] | None = None) -> pd.DataFrame:
    """Differences in cohort-averaged recovery probability between levels.

    Parameters
    ----------
    model : RecoveryModel
        A fitted model.
    times, interval, terms
        As in :func:`recovery_probabilities`.
    pairs : sequence of (factor, level, reference), optional
        Contrasts; default every non-reference level against the reference.

    Returns
    -------
    DataFrame
        Columns ``term, level, reference, time, diff_median, diff_low, diff_high,
        p_positive`` (probability-scale differences level − reference; ``p_positive`` =
        P(difference > 0)).
    """
    cohort = model.cohort
    times = check_times(times, cohort.grid, [_default_time(cohort)], unit=cohort.time_unit)
    if pairs is not None:
        terms = sorted({p[0] for p in pairs})
    draws = level_recovery_draws(model, terms=terms, times=times)
    if pairs is None:
        pairs = [(f, lv, da[f].values[0]) for f, da in draws.items()
                 for lv in da[f].values[1:]]
    tdim = cohort.time_unit
    rows = []
    for f, lv, ref in pairs:
        da = draws[f]
        diff = da.sel({f: str(lv)}, drop=True) - da.sel({f: str(ref)}, drop=True)
        med, low, high = summarise(diff, interval)
        ppos = (diff > 0).mean([d for d in SAMPLE_DIMS if d in diff.dims])
        for t in times:
            rows.append({"term": f, "level": str(lv), "reference": str(ref), "time": float(t),
                         "diff_median": float(med.sel({tdim: t})),
                         "diff_low": float(low.sel({tdim: t})),
                         "diff_high": float(high.sel({tdim: t})),
                         "p_positive": float(ppos.sel({tdim: t}))})
    df = pd.DataFrame(rows)
    df.attrs["interval"] = float(interval)
    return df


def median_time_draws(curve: xr.DataArray, grid: np.ndarray, time_dim: str) -> xr.DataArray:
    """Time at which a recovery curve reaches 1/2, per draw (``inf`` if it does not).

    ``curve`` holds P(recovered by t) at ``grid[1:]`` (dim ``time_dim``); the log of the
    unrecovered fraction is interpolated linearly inside the crossing interval.
    """
    p = curve.transpose(..., time_dim).values
    p = np.concatenate([np.zeros((*p.shape[:-1], 1)), p], axis=-1)
    logs = np.log(np.clip(1 - p, 1e-300, 1))
    target = np.log(0.5)
    reached = p >= 0.5
    k = np.where(reached.any(-1), reached.argmax(-1), -1)
    kk = np.clip(k, 1, None)
    g0, g1 = grid[kk - 1], grid[kk]
    l0 = np.take_along_axis(logs, (kk - 1)[..., None], -1)[..., 0]
    l1 = np.take_along_axis(logs, kk[..., None], -1)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(l1 < l0, (target - l0) / (l1 - l0), 1.0)
    t = np.where(k > 0, g0 + np.clip(frac, 0, 1) * (g1 - g0), np.inf)
    dims = [d for d in curve.dims if d != time_dim]
    return xr.DataArray(t, dims=dims, coords={d: curve[d] for d in dims if d in curve.coords},
                        name="median_time")


def median_recovery_times(model, interval: float = 0.95, *,
                          terms: Sequence[str] | None = None,
                          overall: bool = True) -> pd.DataFrame:
    """Median time to recovery per factor level (cohort-averaged curve).

    Returns
    -------
    DataFrame
        Columns ``term, level, median, low, high, p_reached, text``: the posterior median
        and interval of the median recovery time (NaN where that quantile is not reached
        within follow-up), ``p_reached`` = P(median reached within follow-up) and a
        reader's phrase (e.g. ``"3.2 (2.1 to 4.8) months"`` or ``"not reached within
        6 months (P(reached) = 12%)"``).
    """
    cohort = model.cohort
    grid = cohort.grid
    tdim = cohort.time_unit
    draws = level_recovery_draws(model, terms=terms, times="grid")
    curves = []
    if overall:
        curves.append(("all", "all", overall_recovery_draws(model, times="grid")))
    for f, da in draws.items():
        curves += [(f, str(lv), da.sel({f: lv}, drop=True)) for lv in da[f].values]
    lo, hi = interval_quantiles(interval)
    rows = []
    for term, level, curve in curves:
        t = median_time_draws(curve, grid, tdim).values.ravel()
        p_reached = float(np.isfinite(t).mean())
        # quantiles with "not reached" as +inf: order statistics, no interpolation with inf
        q = np.quantile(np.where(np.isfinite(t), t, np.finfo(float).max), [0.5, lo, hi],
                        method="inverted_cdf")
        q = np.where(q > grid[-1], np.nan, q)
        rows.append({"term": term, "level": level, "median": q[0], "low": q[1],
                     "high": q[2], "p_reached": p_reached,
                     "text": _median_text(q, p_reached, grid[-1], tdim)})
    df = pd.DataFrame(rows)
    df.attrs["interval"] = float(interval)
    return df


def _median_text(q, p_reached, end, unit) -> str:
    med, low, high = q
    if np.isnan(med):
        return (f"not reached within {end:g} {unit}s "
                f"(P(reached) = {100 * p_reached:.0f}%)")
    high_s = f"{high:.1f}" if np.isfinite(high) else f"beyond {end:g}"
    return f"{med:.1f} ({low:.1f} to {high_s}) {unit}s"
