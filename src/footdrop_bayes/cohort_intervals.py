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


#: the checks of one bound column, in the order they are made: (key, message end)
BOUND_CHECKS = (("non-numeric", "non-numeric bounds"),
                ("missing", "missing lower bounds"),
                ("negative", "negative bounds"),
                ("infinite", "infinite lower bounds"))


def bound_problems(raw: pd.Series, *, allow_missing: bool) -> dict[str, np.ndarray]:
    """Boolean masks of the rows failing each check of :data:`BOUND_CHECKS`."""
    num = pd.to_numeric(raw, errors="coerce")
    x = num.to_numpy(float)
    none = np.zeros(len(x), bool)
    with np.errstate(invalid="ignore"):
        return {"non-numeric": (num.isna() & raw.notna()).to_numpy(bool),
                "missing": none if allow_missing else np.isnan(x),
                "negative": x < 0,
                "infinite": none if allow_missing else np.isinf(x)}


def bound_error(key: str, table: str, col: str, ids_text: str) -> DataError:
    """The error for the rows failing check ``key`` (``ids_text``: their formatted ids)."""
    what = dict(BOUND_CHECKS)[key]
    hint = " (use 0 for an event before the first look)" if key == "missing" else ""
    return DataError(f"{table}: column {col!r} has {what} for patients {ids_text}{hint}")


def _bound(df, col, ids, table, *, allow_missing: bool) -> np.ndarray:
    masks = bound_problems(df[col], allow_missing=allow_missing)
    for key, _ in BOUND_CHECKS:
        if masks[key].any():
            raise bound_error(key, table, col, format_ids(ids[masks[key]]))
    return pd.to_numeric(df[col], errors="coerce").to_numpy(float)


def order_problems(lower: np.ndarray, upper: np.ndarray) -> dict[str, np.ndarray]:
    """Rows whose lower bound is above the upper one, and events at time 0."""
    censored = ~np.isfinite(upper)
    return {"order": ~censored & (lower > upper), "zero": ~censored & (upper == 0)}


def order_error(key: str, table: str, lower_col: str, upper_col: str,
                ids_text: str) -> DataError:
    """The error for the rows failing :func:`order_problems` check ``key``."""
    if key == "order":
        return DataError(f"{table}: lower bound {lower_col!r} is above upper bound "
                         f"{upper_col!r} for patients {ids_text}")
    return DataError(f"{table}: events at time 0 ({lower_col!r} = {upper_col!r} = 0) for "
                     f"patients {ids_text}; an event must come after the start of follow-up")


def interval_parts(df: pd.DataFrame, ids: np.ndarray, *, lower_col: str, upper_col: str,
                   follow_up: float | None, grid, table: str, unit: str
                   ) -> tuple[pd.DataFrame, np.ndarray, float, list[str]]:
    """Intervals (the columns of ``Cohort.intervals``), grid, follow-up and notes.

    Vectorised: the work is a few sorts and ``searchsorted`` calls, whatever the number
    of distinct bounds.
    """
    lower = _bound(df, lower_col, ids, table, allow_missing=False)
    upper = _bound(df, upper_col, ids, table, allow_missing=True)
    problems = order_problems(lower, upper)
    for key in ("order", "zero"):
        if problems[key].any():
            raise order_error(key, table, lower_col, upper_col,
                              format_ids(ids[problems[key]]))
    follow_up, points = follow_up_and_points(lower, upper, follow_up, grid, table)
    intervals, late, moved = place_bounds(lower, upper, points, follow_up,
                                          rounded=grid is not None)
    intervals.index = pd.Index(ids, name="patient")
    notes: list[str] = []
    if late.any():
        _note(notes, table, late_text(int(late.sum()), follow_up, unit, format_ids(ids[late])))
    if moved.any():
        _note(notes, table, moved_text(int(moved.sum()), format_ids(ids[moved])), warn=False)
    return intervals, points, float(follow_up), notes


def follow_up_and_points(lower, upper, follow_up, grid, table) -> tuple[float, np.ndarray]:
    """The end of follow-up (default the largest finite bound) and the grid.

    Depends on the bounds only through their distinct values, so the Dask engine passes
    those (:mod:`footdrop_bayes.cohort_dask_intervals`).
    """
    lower, upper = np.asarray(lower, float), np.asarray(upper, float)
    censored = ~np.isfinite(upper)
    finite = np.concatenate([lower, upper[~censored]])
    if follow_up is None:
        follow_up = float(finite.max())
    elif not np.isfinite(follow_up) or follow_up <= 0:
        raise DataError(f"follow_up must be a positive time, got {follow_up!r}")
    if follow_up <= 0:
        raise DataError(f"{table}: every bound is 0; there is no follow-up time")
    if grid is not None:
        return float(follow_up), _breakpoints(grid, follow_up, table)
    event = ~censored & ~(upper > follow_up + _EPS)
    return float(follow_up), np.union1d([0.0, follow_up],
                                        np.concatenate([np.minimum(lower, follow_up),
                                                        upper[event]]))


def late_text(n: int, follow_up: float, unit: str, ids_text: str) -> str:
    """The note on events after the end of follow-up."""
    return (f"{n} event(s) with upper bound after the end of follow-up ({follow_up:g} "
            f"{unit}s) censored at their lower bound, of patients {ids_text}")


def moved_text(n: int, ids_text: str) -> str:
    """The note on bounds rounded to the grid breakpoints."""
    return (f"{n} bound(s) rounded outward to the grid breakpoints (lower down, upper up), "
            f"of patients {ids_text}")


def place_bounds(lower, upper, points, follow_up, *, rounded: bool
                 ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Checked bounds on the grid ``points``: the interval columns (row order, default
    index), and which rows were events after the end (``late``) and which bounds were
    rounded to the breakpoints (``moved``, only when ``rounded``). Row by row, so the
    Dask engine applies it to each partition."""
    lower, upper = np.asarray(lower, float), np.asarray(upper, float)
    censored = ~np.isfinite(upper)
    late = ~censored & (upper > follow_up + _EPS)
    event = ~censored & ~late
    left = np.minimum(lower, follow_up)
    exact = event & (lower == upper)
    # exact events: the grid interval ending at t (t rounded up to a breakpoint)
    r_idx = np.searchsorted(points, np.where(event, upper, 0.0) - _EPS, side="left")
    r_idx = np.minimum(r_idx, len(points) - 1)
    l_idx = np.searchsorted(points, left + _EPS, side="right") - 1
    l_idx = np.where(exact, r_idx - 1, np.minimum(l_idx, np.where(event, r_idx - 1, l_idx)))
    L = points[np.clip(l_idx, 0, None)]
    R = np.where(event, points[r_idx], np.nan)
    moved = np.zeros(len(lower), bool)
    if rounded:
        moved = (np.abs(L - left) > _EPS) | (event & ~exact & (np.abs(R - upper) > _EPS))
    intervals = pd.DataFrame({
        "last_unrecovered": L,
        "first_recovered": R,
        "event": event,
        "withdrawn": ~event & (left < follow_up - _EPS),
        "admin_censored": ~event & (left >= follow_up - _EPS),
        "last_visit": np.where(event, upper, left),
        "n_visits": np.nan,
    })
    return intervals, late, moved


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
