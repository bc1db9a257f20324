"""Time-varying categorical covariates recorded at visits (e.g. a change of treatment).

Timing rule (Therneau's "no looking into the future"): the value recorded at a visit at
time ``t_v`` applies on the grid intervals ``(t_v, t_next]`` up to the next recorded
visit; the value on ``(0, first visit]`` is the patients table's column of the same name
(the *baseline* value) unless a visit at time 0 records one. A missed visit carries the
last recorded value forward. ``lag=k`` shifts every change by ``k`` grid intervals
(visits): the value recorded at ``t_v`` then acts from the ``k``-th grid point after
``t_v``. A change recorded at the visit where recovery is first seen therefore never acts
on the interval that ends with that recovery.

The result is a *path* per patient: an integer level code for every grid interval
``(grid[j], grid[j + 1]]``, ``j = 0 .. K - 1``, carried on past the patient's last visit
(those cells never enter the likelihood).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .errors import DataError, DataWarning, format_ids


def baseline_levels(base: pd.Series, reference) -> list:
    """Levels of the baseline column of a time-varying column, reference first.

    Its declared categories when it is a pandas ``Categorical`` (then the only levels
    allowed at visits), else its observed values (levels first recorded at visits are
    added after them, see :func:`time_varying_paths`). The reference is ``reference``
    if given, else the categorical's first category, else the most frequent baseline
    value.
    """
    s = base.dropna()
    if isinstance(base.dtype, pd.CategoricalDtype):
        levels = list(base.cat.categories)
    else:
        levels = sorted(s.unique(), key=str)
    if reference is None:
        from .covariates import default_reference

        reference = default_reference(s, levels)
    match = [lv for lv in levels if lv == reference or str(lv) == str(reference)]
    if not match:
        raise DataError(f"reference level {reference!r} of time-varying column "
                        f"{base.name!r} is not among its levels: "
                        f"{', '.join(map(str, levels))}")
    return [match[0]] + [lv for lv in levels if lv != match[0]]


def _norm(x) -> str:
    return " ".join(str(x).split()).casefold()


def _new_levels(vals: pd.Series, levels: list, name: str, vt: str, pt: str) -> list:
    """Levels first recorded at visits (e.g. a treatment nobody starts on), sorted.

    A new value that differs from a baseline level only in case or spacing is a typo:
    ``DataError``.
    """
    known = {str(lv) for lv in levels}
    new = sorted({x for x in vals.unique() if str(x) not in known}, key=str)
    norm = {_norm(lv): lv for lv in levels}
    typos = [x for x in new if _norm(x) in norm]
    if typos:
        raise DataError(f"{vt}: column {name!r} (time-varying) has values "
                        f"{[str(x) for x in typos]} that differ from levels of the baseline "
                        f"column {name!r} of {pt} ({', '.join(map(str, levels))}) only in "
                        "case or spacing; correct the spelling")
    return new


def _codes(values: pd.Series, levels: list) -> np.ndarray:
    lookup = {lv: i for i, lv in enumerate(levels)}
    lookup |= {str(lv): i for i, lv in enumerate(levels)}
    return values.map(lambda x: lookup.get(x, lookup.get(str(x), -1))).to_numpy(np.int64)


def time_varying_paths(rec: pd.DataFrame, patients: pd.DataFrame, intervals: pd.DataFrame,
                       grid: np.ndarray, names: Sequence[str], *, id_col: str, lag: int,
                       reference: dict | None, vt: str, pt: str) -> tuple[dict, dict, dict]:
    """Per-interval level codes of each time-varying column.

    Parameters
    ----------
    rec : DataFrame
        Cleaned visits (``id_col``, ``time`` on the grid, and the columns ``names``).
    patients : DataFrame
        Indexed by patient id; the baseline columns (where present).
    intervals : DataFrame
        The cohort's intervals (index: patients kept).
    grid : ndarray
    names : sequence of str
    lag : int
        Whole grid intervals by which each recorded value's start is delayed.
    reference : dict, optional
        Reference level per column.
    vt, pt : str
        Table names for messages.

    Returns
    -------
    paths : dict of name -> int array (patients, K)
    levels : dict of name -> list (reference first)
    baseline : dict of name -> Categorical Series (value on the first interval)

    Raises
    ------
    DataError
        Missing values (visits or baseline), values unknown to the baseline column, no
        baseline at all, a negative ``lag``.
    """
    if int(lag) != lag or lag < 0:
        raise DataError(f"lag must be a whole number of visits >= 0, got {lag!r}")
    lag = int(lag)
    ids = intervals.index
    k = len(grid) - 1
    rec = rec[rec[id_col].isin(ids)]
    row = pd.Index(ids).get_indexer(rec[id_col])
    col = np.searchsorted(grid, rec["time"].to_numpy(float)) + lag
    paths, levels, baseline = {}, {}, {}
    for name in names:
        vals = rec[name]
        if vals.isna().any():
            raise DataError(f"{vt}: column {name!r} (time-varying) has missing values for "
                            f"patients {format_ids(rec.loc[vals.isna(), id_col])}; record "
                            "the value at every visit (a missed visit carries the last "
                            "value forward)")
        at_zero = rec["time"].to_numpy(float) == 0
        if name in patients.columns:
            base = patients.loc[ids, name].rename(name)
        else:
            base = pd.Series(np.nan, index=ids, name=name, dtype=object)
        zero = pd.Series(vals[at_zero].to_numpy(), index=rec.loc[at_zero, id_col].to_numpy())
        filled_base = base.astype(object).where(base.notna(), zero.reindex(ids).to_numpy())
        no_base = filled_base.isna().to_numpy()
        if no_base.any():
            where = (f"column {name!r} of {pt}" if name in patients.columns
                     else f"a visit at time 0 in {vt} ({pt} has no column {name!r})")
            raise DataError(f"{pt}: no baseline value of time-varying column {name!r} "
                            f"(from {where}) for patients {format_ids(ids[no_base])}")
        base_known = base.dropna()
        source = base_known if len(base_known) else vals[at_zero]
        lv = baseline_levels(source.rename(name), (reference or {}).get(name))
        if not isinstance(base.dtype, pd.CategoricalDtype):
            lv = lv + _new_levels(vals, lv, name, vt, pt)
        code = _codes(vals, lv)
        if (code < 0).any():
            bad = sorted({str(x) for x in vals[code < 0]})
            raise DataError(f"{vt}: column {name!r} (time-varying) has values {bad} that "
                            f"are not levels of the baseline column {name!r} of {pt} "
                            f"({', '.join(map(str, lv))}), for patients "
                            f"{format_ids(rec.loc[code < 0, id_col])}; check the spelling, "
                            "or declare every level (a pandas Categorical baseline column)")
        path = np.full((len(ids), k + 1), -1, dtype=np.int64)
        base_code = _codes(filled_base, lv)
        if (base_code < 0).any():
            raise DataError(f"{vt}: time-0 value of column {name!r} is not a level of the "
                            f"baseline column ({', '.join(map(str, lv))}) for patients "
                            f"{format_ids(ids[base_code < 0])}")
        path[:, 0] = base_code
        keep = col <= k
        order = np.argsort(rec["time"].to_numpy(float), kind="stable")
        order = order[keep[order]]
        path[row[order], col[order]] = code[order]
        filled = pd.DataFrame(path[:, :k]).replace(-1, np.nan).ffill(axis=1)
        paths[name] = filled.to_numpy(np.int64)
        baseline[name] = pd.Series(pd.Categorical.from_codes(paths[name][:, 0], lv),
                                   index=ids, name=name)
        levels[name] = lv
    return paths, levels, baseline


def at_risk_intervals(intervals: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    """Number of grid intervals each patient's likelihood term spans (R if event, else L)."""
    ev = intervals["event"].to_numpy(bool)
    end = np.where(ev, intervals["first_recovered"].fillna(0).to_numpy(float),
                   intervals["last_unrecovered"].to_numpy(float))
    return np.searchsorted(grid, end)


def varying(path: np.ndarray, n_at_risk: np.ndarray) -> np.ndarray:
    """Per patient: does the path change within the intervals at risk?"""
    k = path.shape[1]
    inside = np.arange(k)[None, :] < n_at_risk[:, None]
    changed = np.zeros(path.shape, bool)
    changed[:, 1:] = path[:, 1:] != path[:, :-1]
    return (changed & inside).any(axis=1)


def split_constant(paths: dict, levels: dict, intervals, grid, names, vt) -> list:
    """Names whose value never changes while any patient is at risk (warned, made baseline)."""
    n_risk = at_risk_intervals(intervals, grid)
    constant = [n for n in names if not varying(paths[n], n_risk).any()]
    if constant:
        warnings.warn(f"{vt}: time-varying column(s) {constant} never change while a "
                      "patient is at risk; treated as baseline factor(s)", DataWarning,
                      stacklevel=4)
    return constant


# --------------------------------------------------------------------- views
def path_table(cohort, *, until: str = "last_visit") -> pd.DataFrame:
    """Per-patient paths as runs of constant value.

    Parameters
    ----------
    cohort : Cohort
        With ``time_varying`` columns.
    until : {"last_visit", "at_risk"}
        Runs up to the patient's last visit, or only over the intervals at risk (to the
        recovery visit R, or the last unrecovered visit L).

    Returns
    -------
    DataFrame
        Columns ``patient``, ``variable``, ``start``, ``stop``, ``value``: the value
        applies on ``(start, stop]``.
    """
    grid = cohort.grid
    iv = cohort.intervals
    if until == "at_risk":
        n = at_risk_intervals(iv, grid)
    else:
        n = np.searchsorted(grid, iv["last_visit"].to_numpy(float))
    rows = []
    for name in cohort.time_varying:
        lv = cohort.time_varying_levels[name]
        path = cohort.time_varying_paths[name]
        for i, pid in enumerate(cohort.patient_ids):
            m = int(n[i])
            if m == 0:
                continue
            p = path[i, :m]
            cuts = np.flatnonzero(np.diff(p)) + 1
            starts = np.r_[0, cuts]
            stops = np.r_[cuts, m]
            rows += [(pid, name, grid[a], grid[b], lv[p[a]])
                     for a, b in zip(starts, stops, strict=True)]
    return pd.DataFrame(rows, columns=["patient", "variable", "start", "stop", "value"])


def long_format(cohort, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """lifelines' long format for ``CoxTimeVaryingFitter``: ``(start, stop]`` rows.

    One row per run of constant time-varying values over the intervals at risk, from 0 to
    the first recovered visit (event on the last row) or the last unrecovered visit
    (censored); patients censored at 0 have no rows (they carry no information).
    Static covariates (``columns``, default the cohort's factors and numeric covariates)
    are repeated on every row. Recovery is placed at the first visit that found it.
    """
    grid = cohort.grid
    iv = cohort.intervals
    n = at_risk_intervals(iv, grid)
    names = list(cohort.time_varying)
    codes = np.stack([cohort.time_varying_paths[nm] for nm in names], axis=-1)
    rows = []
    for i, pid in enumerate(cohort.patient_ids):
        m = int(n[i])
        if m == 0:
            continue
        p = codes[i, :m]
        cuts = np.flatnonzero((np.diff(p, axis=0) != 0).any(axis=1)) + 1
        starts, stops = np.r_[0, cuts], np.r_[cuts, m]
        last = len(starts) - 1
        ev = bool(iv["event"].iat[i])
        rows += [(pid, grid[a], grid[b], int(ev and j == last), *p[a])
                 for j, (a, b) in enumerate(zip(starts, stops, strict=True))]
    out = pd.DataFrame(rows, columns=["patient", "start", "stop", "event", *names])
    for nm in names:
        out[nm] = pd.Categorical.from_codes(out[nm].to_numpy(np.int64),
                                            cohort.time_varying_levels[nm])
    cols = list(cohort.factors + cohort.numeric) if columns is None else list(columns)
    return out.join(cohort.covariates[cols], on="patient")


def person_period_values(pp: pd.DataFrame, cohort) -> pd.DataFrame:
    """Replace the time-varying columns of person-period rows by their per-row value.

    Each row ``(start, stop]`` takes the value of its first grid interval: exact for
    one-interval rows; an event row spanning missed visits carries the value at its start.
    """
    grid = cohort.grid
    row = cohort.patient_ids.get_indexer(pp["patient"])
    j = np.searchsorted(grid, pp["start"].to_numpy(float))
    pp = pp.copy()
    for name in cohort.time_varying:
        codes = cohort.time_varying_paths[name][row, j]
        pp[name] = pd.Categorical.from_codes(codes, cohort.time_varying_levels[name])
    return pp


# --------------------------------------------------------------------- builder parts
def check_visit_columns(visits: pd.DataFrame, names, id_col, time_col, vt) -> None:
    """The time-varying columns exist and a visit never records two values."""
    missing = [n for n in names if n not in visits.columns]
    if missing:
        raise DataError(f"{vt}: time-varying column(s) {missing} not found; the table has "
                        f"{list(visits.columns)}")
    for name in names:
        n = visits.groupby([id_col, time_col], sort=False)[name].nunique()
        bad = n[n > 1]
        if len(bad):
            raise DataError(f"{vt}: column {name!r} (time-varying) records different values "
                            f"at the same visit for patients "
                            f"{format_ids(bad.index.get_level_values(0))}")


def attach_time_varying(cohort, rec, patients, names, *, id_col, lag, reference, vt,
                        pt) -> None:
    """Give ``cohort`` its time-varying paths (in place); constant columns become factors.

    The baseline value (first interval) is stored as a ``Categorical`` column of
    ``cohort.covariates`` (the *baseline* treatment, e.g. for Kaplan-Meier curves).
    """
    iv = cohort.intervals
    paths, levels, baseline = time_varying_paths(
        rec, patients, iv, cohort.grid, names, id_col=id_col, lag=lag,
        reference=reference, vt=vt, pt=pt)
    constant = split_constant(paths, levels, iv, cohort.grid, names, vt)
    cov = cohort.covariates.copy()
    for name in names:
        cov[name] = baseline[name]
    cohort.covariates = cov
    if constant:
        cohort.factors = cohort.factors + tuple(constant)
        cohort.notes = cohort.notes + (
            f"{vt}: time-varying column(s) {constant} never change while a patient is at "
            "risk; treated as baseline factor(s)",)
    keep = [n for n in names if n not in constant]
    cohort.time_varying = tuple(keep)
    cohort.time_varying_paths = {n: paths[n] for n in keep}
    cohort.time_varying_levels = {n: levels[n] for n in keep}
    cohort.lag = int(lag)


def copy_time_varying(src, dst) -> None:
    """Carry the time-varying parts of ``src`` over to ``dst`` (same patients)."""
    rows = src.patient_ids.get_indexer(dst.patient_ids)
    dst.time_varying = src.time_varying
    dst.time_varying_paths = {n: p[rows] for n, p in src.time_varying_paths.items()}
    dst.time_varying_levels = dict(src.time_varying_levels)
    dst.lag = src.lag
    for n in src.time_varying:
        if n not in dst.covariates.columns:
            dst.covariates = dst.covariates.assign(**{n: src.covariates.loc[
                dst.patient_ids, n]})
