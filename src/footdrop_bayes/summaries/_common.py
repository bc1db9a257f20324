"""Helpers shared by the summaries: interval bounds, draw summaries, model inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

SAMPLE_DIMS = ("chain", "draw")


def interval_quantiles(interval: float) -> tuple[float, float]:
    """Lower and upper quantiles of a central (equal-tailed) interval of mass ``interval``."""
    interval = float(interval)
    if not 0 < interval < 1:
        raise ValueError(f"interval must lie strictly between 0 and 1, got {interval!r}")
    tail = (1 - interval) / 2
    return tail, 1 - tail


def summarise(draws: xr.DataArray, interval: float) -> tuple[xr.DataArray, ...]:
    """Median and equal-tailed interval over ``chain`` and ``draw``.

    Returns
    -------
    median, low, high : DataArray
        Each with the sample dims removed.
    """
    lo, hi = interval_quantiles(interval)
    dims = [d for d in SAMPLE_DIMS if d in draws.dims]
    q = draws.quantile([0.5, lo, hi], dim=dims)
    return (q.isel(quantile=0, drop=True), q.isel(quantile=1, drop=True),
            q.isel(quantile=2, drop=True))


def n_samples(draws: xr.DataArray) -> int:
    """Number of posterior samples (chains x draws) in ``draws``."""
    return int(np.prod([draws.sizes[d] for d in SAMPLE_DIMS if d in draws.dims]))


def model_data(model) -> pd.DataFrame:
    """The cohort's covariate profiles the model was fitted with (factors, covariates, group)."""
    cols = list(model.factors) + list(model.covariates)
    if getattr(model, "group", None):
        cols.append(model.group)
    return model.cohort.covariates[cols].copy()


def factor_levels(posterior: xr.Dataset, factor: str) -> list:
    """Levels of ``factor`` as coded in the posterior (reference first)."""
    name = f"b_{factor}"
    if name not in posterior:
        raise KeyError(f"the posterior has no variable {name!r} for factor {factor!r}")
    return list(posterior[name].coords[factor].values)


def level_counts(data: pd.DataFrame, factor: str, levels, weights=None) -> np.ndarray:
    """Number of patients at each of ``levels`` (matched by their string form);
    ``weights``: patients per row of a collapsed cohort."""
    if weights is not None:
        counts = pd.Series(np.asarray(weights, float)).groupby(
            data[factor].astype(str).to_numpy()).sum()
        return np.array([float(counts.get(str(lv), 0)) for lv in levels])
    counts = data[factor].astype(str).value_counts()
    return np.array([int(counts.get(str(lv), 0)) for lv in levels], dtype=float)


def check_times(times, grid: np.ndarray, default, *, unit: str = "",
                lower_inclusive: bool = False) -> np.ndarray:
    """Validate requested times: any time within follow-up, ``(0, grid[-1]]``.

    Between grid points the model's hazard is constant, so probabilities at any time in
    follow-up are exact (:func:`footdrop_bayes.model.predictive.cumulative_baseline`);
    times within rounding of a grid point are snapped to it. ``None`` gives ``default``,
    ``"grid"`` (or ``"all"``) every grid time after 0.

    Raises
    ------
    ValueError
        Naming the valid range (never listing the grid) for times outside it or not
        finite.
    """
    if times is None:
        times = default
    elif isinstance(times, str):
        if times not in ("grid", "all"):
            raise ValueError(f"times must be None, 'grid' or a sequence of times within "
                             f"follow-up, got {times!r}")
        times = grid[1:]
    try:
        times = np.atleast_1d(np.asarray(times, dtype=float))
    except (TypeError, ValueError):
        raise ValueError(f"times must be numbers within follow-up, got {times!r}") from None
    end = float(grid[-1])
    low_ok = (times >= 0) if lower_inclusive else (times > 0)
    ok = np.isfinite(times) & low_ok & ((times <= end) | np.isclose(times, end))
    if not ok.all():
        bad = [float(t) for t in times[~ok]][:5]
        unit_s = f" {unit}s" if unit else ""
        bracket = "[" if lower_inclusive else "("
        raise ValueError(f"times {bad} are outside follow-up: the model gives probabilities "
                         f"at times in {bracket}0, {end:g}]{unit_s} (after referral, up to "
                         "the last visit time)")
    on_grid = np.isclose(times[:, None], grid[None, :])
    snapped = np.where(on_grid.any(1), grid[on_grid.argmax(1)], times)
    return snapped.astype(float)
