"""The Dask engine for interval tables: ``Cohort.from_intervals(..., engine="dask")``.

An interval table has one row per patient, so no shuffle is needed: every step is a
per-partition map (the checks and the placing of the bounds on the grid, shared with the
pandas engine in :mod:`footdrop_bayes.cohort_intervals`) followed by reductions (error
counts, the largest bound, the distinct bounds that make the grid, the pattern counts).
Only counts, the few patient ids an error or note names, the distinct bounds and the
collapsed table come back to the driver.

The cohort equals the pandas engine's ``.collapse()``: same intervals, pattern counts,
grid, follow-up, notes and exclusions; bad input gets the pandas engine's ``DataError``
word for word, checked in the same order (ids are named in row order, the rows of a
glob's files stacked in file order).
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext

import numpy as np
import pandas as pd

from . import validation as v
from .cohort_intervals import (
    BOUND_CHECKS,
    bound_error,
    bound_problems,
    follow_up_and_points,
    late_text,
    moved_text,
    order_error,
    order_problems,
    place_bounds,
)
from .errors import DataError, DataWarning, format_ids

_ROW = "_row"


def dask_from_intervals(cls, df, *, lower_col, upper_col, id_col, factors, covariates,
                        reference, follow_up, time_unit, grid, dropna, table,
                        scheduler=None, coarsen=None, max_patterns=None):
    """A collapsed :class:`~footdrop_bayes.Cohort` from an interval table, with Dask.

    ``df``: a Dask or pandas DataFrame, a path, a glob or a list of them. Arguments as in
    :meth:`footdrop_bayes.Cohort.from_intervals`. Without ``id_col`` patients are
    numbered by row as the pandas engine numbers them (the DataFrame's index, or the
    row number in the stacked files).
    """
    from .cohort_dask import import_dask, scheduler_context

    dask, dd = import_dask()
    with scheduler_context(scheduler) if scheduler is not None else nullcontext():
        return _build(cls, dask, dd, df, lower_col=lower_col, upper_col=upper_col,
                      id_col=id_col, factors=factors, covariates=covariates,
                      reference=reference, follow_up=follow_up, time_unit=time_unit,
                      grid=grid, dropna=dropna, table=table, coarsen=coarsen,
                      max_patterns=max_patterns)


def _with_row_ids(raw, by_position: bool):
    """``raw`` with a ``_row`` id column: the index, or the row number in the stack."""
    if not by_position:
        return raw.map_partitions(lambda d: d.assign(**{_ROW: d.index}))
    lengths = raw.map_partitions(len).compute().tolist()
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)

    def number(d, partition_info=None):
        start = offsets[partition_info["number"]] if partition_info else 0
        return d.assign(**{_ROW: np.arange(start, start + len(d), dtype=np.int64)})

    meta = raw._meta.assign(**{_ROW: np.array([], dtype=np.int64)})
    return raw.map_partitions(number, meta=meta)


def _check_part(part, id_col, lower_col, upper_col):
    """Per row: one flag column per check of the bounds (see :data:`BOUND_CHECKS`)."""
    out = {id_col: part[id_col]}
    for col, allow in ((lower_col, False), (upper_col, True)):
        for key, mask in bound_problems(part[col], allow_missing=allow).items():
            out[f"{col}|{key}"] = mask
    lower = pd.to_numeric(part[lower_col], errors="coerce").to_numpy(float)
    upper = pd.to_numeric(part[upper_col], errors="coerce").to_numpy(float)
    for key, mask in order_problems(lower, upper).items():
        out[f"|{key}"] = mask
    return pd.DataFrame(out, index=part.index)


def _place_part(part, id_col, lower_col, upper_col, cols, points, follow_up, rounded):
    """Per row: the covariates, the interval and the late / moved flags."""
    lower = pd.to_numeric(part[lower_col], errors="coerce").to_numpy(float)
    upper = pd.to_numeric(part[upper_col], errors="coerce").to_numpy(float)
    iv, late, moved = place_bounds(lower, upper, points, follow_up, rounded=rounded)
    out = part[[id_col, *cols]].copy()
    for c in ("last_unrecovered", "first_recovered", "event", "withdrawn", "admin_censored"):
        out[c] = iv[c].to_numpy()
    out["_late"], out["_moved"] = late, moved
    return out


def _ids_text(ddf, id_col, mask_col, n: int) -> str:
    """:func:`format_ids` of the ``n`` (distinct) ids flagged by ``mask_col`` in row
    order, computing only the first few."""
    from .cohort_dask import format_first_ids

    return format_first_ids(ddf[ddf[mask_col]][id_col].head(5, npartitions=-1).tolist(), n)


def _build(cls, dask, dd, df, *, lower_col, upper_col, id_col, factors, covariates,
           reference, follow_up, time_unit, grid, dropna, table, coarsen, max_patterns):
    from .cohort_dask import (
        IV_KEYS,
        MAX_PATTERNS,
        _coarsen,
        _collapse,
        _ids_in_order,
        _raise_missing_ids,
        to_dask,
    )
    from .cohort_engines import ROLE_SAMPLE, _is_path
    from .cohort_patterns import collapsed_cohort
    from .timescale import time_unit_name

    raw = to_dask(df, dd, id_col)
    unit = time_unit_name(time_unit)
    n_rows = int(raw.map_partitions(len).sum().compute()) if raw.npartitions else 0
    if n_rows == 0:
        raise DataError(f"{table}: the table is empty (no rows)")
    v.require_columns(raw._meta, [lower_col, upper_col] + ([id_col] if id_col else []),
                      table)
    if id_col is None:
        raw, id_col = _with_row_ids(raw, by_position=_is_path(df)), _ROW
    ids = raw[id_col]
    counts = ids.value_counts(split_out=max(1, raw.npartitions // 4))
    checks = raw.map_partitions(_check_part, id_col, lower_col, upper_col)
    n_missing_ids, dups, n_bad = dask.compute(ids.isna().sum(),
                                              counts[counts > 1].index.to_series(),
                                              checks.drop(columns=[id_col]).sum())
    if n_missing_ids:
        _raise_missing_ids(raw, id_col, table)
    if len(dups):
        raise DataError(f"{table}: column {id_col!r} lists patients more than once: "
                        f"{format_ids(_ids_in_order(raw, id_col, dups))}")
    roles = None
    if factors is None and covariates is None:
        from .cohort import _roles

        sample = raw.head(ROLE_SAMPLE, npartitions=-1).drop(columns=[lower_col, upper_col])
        factors, covariates, roles = _roles(sample, id_col, None, None, table)
    factors, covariates = list(factors or []), list(covariates or [])
    cols = factors + covariates
    v.require_columns(raw._meta.drop(columns=[lower_col, upper_col]), cols, table)

    def flagged(name):
        return checks[checks[name]][id_col].compute().to_numpy()

    for col in (lower_col, upper_col):
        for key, _ in BOUND_CHECKS:
            if n_bad[f"{col}|{key}"]:
                raise bound_error(key, table, col, format_ids(flagged(f"{col}|{key}")))
    for key in ("order", "zero"):
        if n_bad[f"|{key}"]:
            raise order_error(key, table, lower_col, upper_col,
                              format_ids(flagged(f"|{key}")))

    lower = raw[lower_col].map_partitions(pd.to_numeric, errors="coerce",
                                          meta=(lower_col, float))
    upper = raw[upper_col].map_partitions(pd.to_numeric, errors="coerce",
                                          meta=(upper_col, float))
    lower_u, upper_u = dask.compute(lower.unique(), upper.unique())
    follow_up, points = follow_up_and_points(lower_u.to_numpy(float),
                                             upper_u.to_numpy(float), follow_up, grid, table)
    placed = raw.map_partitions(
        _place_part, id_col, lower_col, upper_col, cols, points, follow_up, grid is not None,
        meta=_place_part(raw._meta, id_col, lower_col, upper_col, cols, points, follow_up,
                         grid is not None))
    notes: list[str] = []
    n_late, n_moved, n_miss = dask.compute(
        placed["_late"].sum(), placed["_moved"].sum(),
        placed[cols].isna().any(axis=1).sum() if cols else 0)
    if n_late:
        _note(notes, table, late_text(int(n_late), follow_up, unit,
                                      _ids_text(placed, id_col, "_late", int(n_late))))
    if n_moved:
        _note(notes, table, moved_text(int(n_moved), _ids_text(placed, id_col, "_moved",
                                                              int(n_moved))), warn=False)
    excluded = []
    if n_miss:
        miss = placed[placed[cols].isna().any(axis=1)][[id_col, *cols]].compute()
        detail = "; ".join(f"{c!r}: {format_ids(miss.loc[miss[c].isna(), id_col])}"
                           for c in cols if miss[c].isna().any())
        if not dropna:
            raise DataError(f"{table}: missing covariate values in {detail}. Fill them, "
                            "remove the column, or pass dropna=True to exclude these "
                            "patients")
        warnings.warn(f"{table}: excluded {len(miss)} patient(s) with missing covariate "
                      f"values in {detail}", DataWarning, stacklevel=4)
        excluded = [(i, "missing covariate values") for i in miss[id_col]]
        placed = placed[~placed[cols].isna().any(axis=1)]
    converted = {}
    for col in covariates:
        values = placed[col].map_partitions(pd.to_numeric, errors="coerce", meta=(col, float))
        bad = values.isna() | ~values.map_partitions(np.isfinite, meta=(col, bool))
        if int(bad.sum().compute()):
            sub = placed[bad][[id_col, col]].compute()
            raise DataError(f"{table}: column {col!r} should be numeric but has values "
                            f"{list(sub[col].unique()[:3])} for patients "
                            f"{format_ids(sub[id_col])}")
        converted[col] = values
    final = _coarsen(placed.assign(**converted), coarsen, covariates)
    key_frame = final[cols + IV_KEYS].assign(
        first_recovered=final["first_recovered"].fillna(-1.0))
    n_est = key_frame.map_partitions(
        lambda d: pd.util.hash_pandas_object(d, index=False), meta=(None, "u8")
    ).nunique_approx().compute()
    patterns = _collapse(dask, final, key_frame, cols, int(n_est),
                         max_patterns or MAX_PATTERNS)
    return collapsed_cohort(cls, patterns, factors=factors, covariates=covariates,
                            table=table, reference=reference, grid=points,
                            follow_up=follow_up, time_unit=unit, excluded=excluded,
                            notes=notes, roles=roles)


def _note(notes, table, text, warn=True):
    notes.append(f"{table}: {text}")
    if warn:
        warnings.warn(f"{table}: {text}", DataWarning, stacklevel=5)
