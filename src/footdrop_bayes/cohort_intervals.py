"""Interval tables (one row per patient, a lower and an upper bound) into cohort parts.

The table is read as lifelines' ``fit_interval_censoring`` reads it (and as icenReg and
SAS ``PROC ICLIFETEST`` do): the event lies in ``(lower, upper]``.

================================  ==================================================
row                               meaning
================================  ==================================================
``upper`` infinite or missing     right-censored at ``lower`` (event-free up to it)
``lower == 0``                    the event happened before the first look: ``(0, upper]``
``lower == upper``                event observed at that time: counted in the grid
                                  interval ending there, ``(previous grid time, t]``
``lower < upper``                 event in ``(lower, upper]``
================================  ==================================================

A censored row is *withdrawn* when ``lower`` is before ``follow_up`` (default: the
largest finite bound), otherwise *administratively censored*. An event whose upper
bound lies after ``follow_up`` is censored at ``lower`` (reported).

The grid is the union of all bounds (exact, the default) or, with ``grid=``, the given
breakpoints: every bound is rounded *outward* to them (lower down, upper up), so that
each interval still contains the true time.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .errors import DataError, DataWarning, format_ids

_EPS = 1e-9


def _bound(df, col, ids, table, *, allow_missing: bool) -> np.ndarray:
    raw = df[col]
    num = pd.to_numeric(raw, errors="coerce")
    nonnum = num.isna() & raw.notna()
    if nonnum.any():
        raise DataError(f"{table}: column {col!r} has non-numeric bounds for patients "
                        f"{format_ids(ids[nonnum.to_numpy()])}")
    x = num.to_numpy(float)
    if not allow_missing and np.isnan(x).any():
        raise DataError(f"{table}: column {col!r} has missing lower bounds for patients "
                        f"{format_ids(ids[np.isnan(x)])} (use 0 for an event before the "
                        "first look)")
    neg = x < 0
    if neg.any():
        raise DataError(f"{table}: column {col!r} has negative bounds for patients "
                        f"{format_ids(ids[neg])}")
    if not allow_missing and np.isinf(x).any():
        raise DataError(f"{table}: column {col!r} has infinite lower bounds for patients "
                        f"{format_ids(ids[np.isinf(x)])}")
    return x


def interval_parts(df: pd.DataFrame, ids: np.ndarray, *, lower_col: str, upper_col: str,
                   follow_up: float | None, grid, table: str, unit: str
                   ) -> tuple[pd.DataFrame, np.ndarray, float, list[str]]:
    """Intervals (the columns of ``Cohort.intervals``), grid, follow-up and notes.

    Vectorised: the work is a few sorts and ``searchsorted`` calls, whatever the number
    of distinct bounds.
    """
    lower = _bound(df, lower_col, ids, table, allow_missing=False)
    upper = _bound(df, upper_col, ids, table, allow_missing=True)
    censored = ~np.isfinite(upper)                       # NaN or inf
    bad = ~censored & (lower > upper)
    if bad.any():
        raise DataError(f"{table}: lower bound {lower_col!r} is above upper bound "
                        f"{upper_col!r} for patients {format_ids(ids[bad])}")
    zero = ~censored & (upper == 0)
    if zero.any():
        raise DataError(f"{table}: events at time 0 ({lower_col!r} = {upper_col!r} = 0) for "
                        f"patients {format_ids(ids[zero])}; an event must come after the "
                        "start of follow-up")
    finite = np.concatenate([lower, upper[~censored]])
    if follow_up is None:
        follow_up = float(finite.max())
    elif not np.isfinite(follow_up) or follow_up <= 0:
        raise DataError(f"follow_up must be a positive time, got {follow_up!r}")
    if follow_up <= 0:
        raise DataError(f"{table}: every bound is 0; there is no follow-up time")
    notes: list[str] = []
    late = ~censored & (upper > follow_up + _EPS)
    if late.any():
        _note(notes, table, f"{int(late.sum())} event(s) with upper bound after the end of "
              f"follow-up ({follow_up:g} {unit}s) censored at their lower bound, of patients "
              f"{format_ids(ids[late])}")
    event = ~censored & ~late
    left = np.minimum(lower, follow_up)
    exact = event & (lower == upper)

    if grid is None:
        points = np.union1d([0.0, follow_up], np.concatenate([left, upper[event]]))
    else:
        points = _breakpoints(grid, follow_up, table)
    # exact events: the grid interval ending at t (t rounded up to a breakpoint)
    r_idx = np.searchsorted(points, np.where(event, upper, 0.0) - _EPS, side="left")
    r_idx = np.minimum(r_idx, len(points) - 1)
    l_idx = np.searchsorted(points, left + _EPS, side="right") - 1
    l_idx = np.where(exact, r_idx - 1, np.minimum(l_idx, np.where(event, r_idx - 1, l_idx)))
    L = points[np.clip(l_idx, 0, None)]
    R = np.where(event, points[r_idx], np.nan)
    if grid is not None:
        moved = (np.abs(L - left) > _EPS) | (event & ~exact & (np.abs(R - upper) > _EPS))
        if moved.any():
            _note(notes, table, f"{int(moved.sum())} bound(s) rounded outward to the grid "
                  f"breakpoints (lower down, upper up), of patients {format_ids(ids[moved])}",
                  warn=False)
    end = np.where(event, upper, left)
    intervals = pd.DataFrame({
        "last_unrecovered": L,
        "first_recovered": R,
        "event": event,
        "withdrawn": ~event & (left < follow_up - _EPS),
        "admin_censored": ~event & (left >= follow_up - _EPS),
        "last_visit": end,
        "n_visits": np.nan,
    }, index=pd.Index(ids, name="patient"))
    return intervals, points, float(follow_up), notes


def _breakpoints(grid, follow_up: float, table: str) -> np.ndarray:
    g = np.asarray(grid, dtype=float).ravel()
    if g.size == 0 or not np.isfinite(g).all() or (g < 0).any():
        raise DataError(f"{table}: grid= must be finite, non-negative breakpoints, got "
                        f"{list(g[:5])}")
    return np.union1d([0.0, follow_up], g[g < follow_up])


def _note(notes, table, text, warn=True):
    notes.append(f"{table}: {text}")
    if warn:
        warnings.warn(f"{table}: {text}", DataWarning, stacklevel=4)
