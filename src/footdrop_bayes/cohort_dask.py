"""The Dask engine: visit records too large for memory -> a collapsed (weighted) cohort.

``Cohort.from_visits(..., engine="dask")`` builds the same cohort as the pandas engine,
collapsed: one row per distinct (covariate pattern, interval) with the number of
patients as its weight (:meth:`footdrop_bayes.Cohort.collapse` gives the same table from
a pandas cohort). The work is done by ``dask.dataframe`` out of core:

1. each partition of visit rows is checked and cleaned (``map_partitions``): the row
   checks of the pandas engine, as an error code per row;
2. the rows are shuffled by patient (``DataFrame.shuffle``), so that every partition
   holds all visits of its patients, and each patient's interval, duplicates, late
   visits and relapses are computed per partition;
3. the per-patient rows are joined with the patients table (``merge``) and counted by
   pattern (``groupby(...).size()``).

Only counts, the few patient ids an error or warning names, and the collapsed table come
back to the driver. Errors and warnings are those of the pandas engine, word for word
(the tests compare them), checked in the same order.

Numeric times and dates (:mod:`footdrop_bayes.cohort_dask_dates`: times since
``origin_col`` or the first visit), visit windows and ``exact_times`` (visits moved per
patient after the shuffle, as :mod:`footdrop_bayes.schedule` moves them) are supported;
time-varying columns are not.
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext

import numpy as np
import pandas as pd

from . import validation as v
from .errors import DataError, DataWarning, format_ids

IV_KEYS = ["last_unrecovered", "first_recovered", "event", "withdrawn", "admin_censored"]
#: default budget of distinct (covariate pattern, interval) rows
MAX_PATTERNS = 500_000
_EPS = 1e-9
_CODES = {1: "missing id", 2: "missing times", 3: "non-numeric times",
          4: "negative or infinite times", 5: "missing status", 6: "not a grade",
          7: "neither boolean nor grade", 8: "grade without rule"}


def import_dask():
    """``(dask, dask.dataframe)``, or a :class:`DataError` saying how to install them."""
    try:
        import dask
        import dask.dataframe as dd
    except ImportError as exc:  # pragma: no cover - the [dask] extra is installed in CI
        raise DataError("engine='dask' needs Dask: pip install 'footdrop-bayes[dask]'") from exc
    return dask, dd


def scheduler_context(scheduler):
    """A context in which Dask computes: ``None`` the threaded scheduler, ``"processes"``,
    ``"local"`` a new ``LocalCluster``, or the address of a running cluster."""
    if scheduler is None or scheduler in ("threads", "sync", "synchronous", "processes"):
        import dask

        return dask.config.set(scheduler=scheduler or "threads")
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover
        raise DataError("scheduler= needs dask.distributed: pip install "
                        "'footdrop-bayes[dask]'") from exc
    if scheduler == "local":
        cluster = LocalCluster(processes=True, threads_per_worker=1, dashboard_address=None)
        return _ClientContext(Client(cluster), cluster)
    try:
        return _ClientContext(Client(scheduler, timeout="20s"), None)
    except (OSError, TimeoutError) as exc:
        raise DataError(f"scheduler {scheduler!r}: cannot connect to a Dask cluster there "
                        f"({exc})") from exc


class _ClientContext:
    def __init__(self, client, cluster):
        self.client, self.cluster = client, cluster

    def __enter__(self):
        return self.client

    def __exit__(self, *exc):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


#: Rows of each CSV file, and files, read to infer column types (:func:`csv_dtypes`).
CSV_HEAD_ROWS, CSV_HEAD_FILES = 10_000, 100


def csv_dtypes(files, sep: str, id_col=None) -> dict:
    """Column types of CSV ``files`` as pandas reads the first :data:`CSV_HEAD_ROWS` rows
    of each of the first :data:`CSV_HEAD_FILES` files.

    A column is text if it is text in any of them (a numeric column with a word in one
    file then reaches the same check, and the same error, as with the pandas engine,
    instead of failing in the parser); whole-number columns other than ``id_col`` are
    read as floats (a later block may hold a missing value or a fraction).
    """
    def kind(c, t) -> str:
        if pd.api.types.is_object_dtype(t):
            return "object"
        if pd.api.types.is_integer_dtype(t) and c != id_col:
            return "float64"
        return str(t)

    types: dict = {}
    for f in files[:CSV_HEAD_FILES]:
        for c, t in pd.read_csv(f, sep=sep, nrows=CSV_HEAD_ROWS).dtypes.items():
            k, seen = kind(c, t), types.get(c)
            if seen is None or seen == k:
                types[c] = k
            elif {seen, k} <= {"float64", "int64"}:
                types[c] = "float64"
            else:
                types[c] = "object"
    return types


def to_dask(obj, dd, id_col=None):
    """A Dask DataFrame from a Dask / pandas DataFrame, a path, a glob or a list of them.

    CSV column types: see :func:`csv_dtypes`.
    """
    if isinstance(obj, dd.DataFrame):
        return obj
    if isinstance(obj, pd.DataFrame):
        return dd.from_pandas(obj, npartitions=max(1, min(16, len(obj) // 250_000 + 1)),
                              sort=False)
    from .io import expand_paths

    items = list(obj) if isinstance(obj, list | tuple) else [obj]
    remote = [str(x) for x in items if "://" in str(x)]
    files = remote if remote else [str(p) for p in expand_paths(obj)]
    suffix = files[0].rsplit(".", 1)[-1].lower()
    try:
        if suffix == "parquet":
            return dd.read_parquet(files)
        if suffix in ("csv", "tsv"):
            sep = "," if suffix == "csv" else "\t"
            return dd.read_csv(files, sep=sep, blocksize="64MB",
                               dtype=csv_dtypes(files, sep, id_col))
    except (ValueError, OSError) as exc:
        raise DataError(f"{obj}: could not be read as a table: {exc}") from exc
    raise DataError(f"{obj}: engine='dask' reads .parquet, .csv and .tsv files, not "
                    f".{suffix}")


# ---------------------------------------------------------------- per-partition steps
def _clean_rows(part: pd.DataFrame, id_col, time_col, status_col, recovered_when,
                dated=False):
    """Visit rows as (id, time, status) with an error code per row (0 = fine); with
    ``dated`` the times are left to :mod:`footdrop_bayes.cohort_dask_dates` (NaN)."""
    n = len(part)
    err = np.zeros(n, np.int8)

    def mark(mask, code):
        m = np.asarray(mask, bool) & (err == 0)
        err[m] = code

    mark(part[id_col].isna(), 1)
    raw_t = part[time_col]
    t = pd.to_numeric(raw_t, errors="coerce")
    mark(raw_t.isna(), 2)
    if dated:
        tf = np.full(n, np.nan)
    else:
        mark(t.isna(), 3)
        tf = t.astype(float).to_numpy()
        with np.errstate(invalid="ignore"):
            mark(~np.isfinite(tf) | (tf < 0), 4)
    raw = part[status_col]
    mark(raw.isna(), 5)
    rule = v.recovery_rule(recovered_when)
    if rule is not None:
        grade = pd.to_numeric(raw, errors="coerce") if not callable(recovered_when) else raw
        mark(grade.isna(), 6)
        status = np.asarray(rule(grade), dtype=bool) if n else np.zeros(0, bool)
    elif raw.dtype == bool:
        status = raw.to_numpy(bool)
    else:
        text = raw.astype(str).str.strip().str.lower()
        raw = raw.where(~text.isin(["true", "false"]), text.eq("true").astype(int))
        num = pd.to_numeric(raw, errors="coerce")
        mark(num.isna(), 7)
        mark(num.notna() & ~num.isin([0, 1]), 8)
        status = num.eq(1).to_numpy(bool)
    return pd.DataFrame({id_col: part[id_col], "time": np.nan_to_num(tf),
                         "status": status, "_err": err, "_grade": _grade_value(part, status_col)},
                        index=part.index)


def _grade_value(part, status_col):
    return pd.to_numeric(part[status_col], errors="coerce").astype(float).to_numpy()


_PP_COLS = {"last_unrecovered": float, "first_recovered": float, "event": bool,
            "withdrawn": bool, "admin_censored": bool, "last_visit": float,
            "n_visits": float, "has_visits": bool, "conflict": bool, "conflict_time": float,
            "dup_rows": np.int64, "n_late": np.int64, "at_zero": bool, "relapse": bool,
            # visit windows (window > 0): counts and the first row position of each change
            "n_off": np.int64, "off_pos": np.int64, "n_moved": np.int64,
            "moved_pos": np.int64, "max_shift": float, "n_merged": np.int64,
            "merged_pos": np.int64, "merge_conflict": bool, "conflict_pos": np.int64}
_NO_POS = np.iinfo(np.int64).max


def _with_pos(part, partition_info=None):
    """Rows with ``_pos``: their order in the stacked table (partition, then row), which
    names patients in the pandas engine's order without a global row count."""
    k = partition_info["number"] if partition_info else 0
    return part.assign(_pos=(np.int64(k) << 40) + np.arange(len(part), dtype=np.int64))


def _first_pos(pos, ids, mask, index):
    """Per patient: the smallest ``pos`` among its rows where ``mask`` holds."""
    return pd.Series(np.where(mask, pos, _NO_POS), index=ids).groupby(
        level=0, sort=False).min().reindex(index, fill_value=_NO_POS).to_numpy(np.int64)


def _windows(rec, id_col, follow_up, window, interval, exact_times, index):
    """Visits moved to their scheduled times and merged (the pandas engine's
    :func:`~footdrop_bayes.schedule.apply_windows`, one patient's rows together), and
    per patient what was changed."""
    from .schedule import scheduled_times

    t = rec["time"].to_numpy(float)
    new, off = scheduled_times(t, rec["status"].to_numpy(bool), follow_up=follow_up,
                               window=window, interval=interval, exact_times=exact_times)
    ids, pos = rec[id_col].to_numpy(), rec["_pos"].to_numpy(np.int64)
    shift = np.abs(new - t)
    moved = shift > _EPS

    def count(mask):
        return pd.Series(mask, index=ids).groupby(level=0, sort=False).sum().reindex(
            index, fill_value=0).to_numpy(np.int64)

    flags = {"n_off": count(off), "off_pos": _first_pos(pos, ids, off, index),
             "n_moved": count(moved), "moved_pos": _first_pos(pos, ids, moved, index),
             "max_shift": pd.Series(np.where(moved, shift, 0.0), index=ids).groupby(
                 level=0, sort=False).max().reindex(index, fill_value=0.0).to_numpy()}
    rec = rec.assign(time=new)
    dup = rec.duplicated([id_col, "time"], keep=False).to_numpy()
    key = [rec[id_col], rec["time"]]
    n_status = rec.groupby(key, sort=False)["status"].transform("nunique").to_numpy()
    n_groups = pd.Series(dup & ~rec.duplicated([id_col, "time"]).to_numpy(),
                         index=ids).groupby(level=0, sort=False).sum()
    flags["n_merged"] = count(dup) - n_groups.reindex(index, fill_value=0).to_numpy(np.int64)
    flags["merged_pos"] = _first_pos(pos, ids, dup, index)
    flags["merge_conflict"] = count(dup & (n_status > 1)) > 0
    flags["conflict_pos"] = _first_pos(pos, ids, dup & (n_status > 1), index)
    status = rec.groupby(key, sort=False)["status"].transform("any")
    return rec.assign(status=status).drop_duplicates([id_col, "time"]), flags


def _per_patient(part: pd.DataFrame, id_col, follow_up, window=0.0, interval=1.0,
                 exact_times=False):
    """Each patient's interval and flags, from all of its (clean) visit rows."""
    if not len(part):
        return _pp_meta(part[id_col])
    order = [id_col, "time", "_pos"] if "_pos" in part else [id_col, "time"]
    part = part.sort_values(order, kind="stable")
    by_visit = part.groupby([id_col, "time"], sort=False)["status"]
    agg = by_visit.agg(["min", "max", "size"])
    ids_v = agg.index.get_level_values(0)
    conflict = (agg["min"] != agg["max"]).to_numpy()
    extra = np.where(conflict, 0, agg["size"].to_numpy() - 1)
    times_v = agg.index.get_level_values(1).to_numpy(float)
    per = pd.DataFrame({"conflict": conflict, "dup_rows": extra,
                        "conflict_time": np.where(conflict, times_v, np.inf)}, index=ids_v)
    per = per.groupby(level=0, sort=False).agg(
        {"conflict": "any", "dup_rows": "sum", "conflict_time": "min"})
    rec = part.drop_duplicates([id_col, "time"])
    late = rec["time"].to_numpy() > follow_up + window + _EPS
    per["n_late"] = pd.Series(late, index=rec[id_col].to_numpy()).groupby(
        level=0, sort=False).sum().reindex(per.index).to_numpy()
    rec = rec[~late]
    flags = {}
    if window > 0:
        rec, flags = _windows(rec, id_col, follow_up, window, interval, exact_times,
                              per.index)
    per["at_zero"] = pd.Series((rec["status"] & (rec["time"] == 0)).to_numpy(),
                               index=rec[id_col].to_numpy()).groupby(
        level=0, sort=False).any().reindex(per.index, fill_value=False).to_numpy(bool)
    ids = rec[id_col].to_numpy()
    t = rec["time"].to_numpy(float)
    s = rec["status"].to_numpy(bool)
    first = pd.Series(np.where(s, t, np.inf), index=ids).groupby(level=0, sort=False).min()
    t_first = first.reindex(ids).to_numpy()
    last_unrec = pd.Series(np.where(~s & (t < t_first), t, -np.inf), index=ids).groupby(
        level=0, sort=False).max()
    relapse = pd.Series(~s & (t > t_first), index=ids).groupby(level=0, sort=False).any()
    grp = pd.Series(t, index=ids).groupby(level=0, sort=False)
    out = pd.DataFrame({"first_recovered": first.replace(np.inf, np.nan),
                        "last_unrecovered": last_unrec.replace(-np.inf, 0.0),
                        "last_visit": grp.max(), "n_visits": grp.size().astype(float),
                        "relapse": relapse})
    out = out.reindex(per.index)
    out["has_visits"] = out["last_visit"].notna()
    out["event"] = out["first_recovered"].notna()
    end = follow_up - window if exact_times else follow_up
    out["withdrawn"] = ~out["event"] & (out["last_visit"] < end - _EPS)
    out["admin_censored"] = ~out["event"] & ~out["withdrawn"] & out["has_visits"]
    out["relapse"] = out["relapse"].fillna(False).astype(bool)
    out = out.join(per)
    for c in ("n_off", "off_pos", "n_moved", "moved_pos", "max_shift", "n_merged",
              "merged_pos", "merge_conflict", "conflict_pos"):
        out[c] = flags.get(c, _NO_POS if c.endswith("_pos") else 0)
    out.index.name = id_col
    out = out.reset_index()
    out[id_col] = out[id_col].astype(part[id_col].dtype)
    return out[[id_col, *_PP_COLS]].astype(_PP_COLS)


def _window_times(part, follow_up, window, interval, exact_times):
    """The times of the visits within follow-up after the windows (for the grid)."""
    from .schedule import scheduled_times

    part = part[part["time"] <= follow_up + window + _EPS]
    new, _ = scheduled_times(part["time"].to_numpy(float), part["status"].to_numpy(bool),
                             follow_up=follow_up, window=window, interval=interval,
                             exact_times=exact_times)
    return pd.Series(new, index=part.index, name="time")


def _pp_meta(id_series):
    meta = pd.DataFrame({id_series.name: id_series.iloc[:0]})
    for c, t in _PP_COLS.items():
        meta[c] = np.array([], dtype=t)
    return meta


# ---------------------------------------------------------------- driver-side helpers
def _ids_in_order(ddf, id_col, ids, mask=None) -> list:
    """``ids`` in their order of first appearance in ``ddf`` (a small, error-path compute),
    among the rows where ``mask`` (a function of the partition) holds."""
    ids = list(ids)
    if not ids:
        return []
    sel = ddf[ddf[id_col].isin(ids)]
    if mask is not None:
        sel = sel[mask(sel)]
    return list(dict.fromkeys(sel[id_col].compute().tolist()))


def _missing_id_rows(ddf, id_col) -> list:
    """1-based row numbers (in the stacked table) of rows without a patient id."""
    parts = ddf[id_col].map_partitions(
        lambda s: pd.DataFrame({"n": [len(s)], "pos": [np.flatnonzero(s.isna().to_numpy())]}),
        meta={"n": "i8", "pos": "O"}).compute()
    offsets = np.concatenate([[0], np.cumsum(parts["n"].to_numpy())[:-1]])
    rows = [int(o + p + 1) for o, pos in zip(offsets, parts["pos"], strict=True) for p in pos]
    return rows


def _raise_missing_ids(ddf, id_col, table):
    rows = _missing_id_rows(ddf, id_col)
    raise DataError(f"{table}: column {id_col!r} has missing patient ids in rows "
                    f"{', '.join(map(str, rows[:5]))}{' ...' if len(rows) > 5 else ''}")


def _raise_row_error(code, rows, raw, id_col, time_col, status_col, recovered_when, vt):
    """The pandas engine's message for the first failing row check (``code``)."""
    if code == 1:
        _raise_missing_ids(raw, id_col, vt)
    if code == 8:
        g = rows["_grade"][rows["_err"].isin([0, 8])]
        lo, hi = (float(x) for x in __import__("dask").compute(g.min(), g.max()))
        raise DataError(f"{vt}: column {status_col!r} looks like a grade (values "
                        f"{lo:g}–{hi:g}); say which grades count as recovered, "
                        "e.g. recovered_when='>=4'")
    bad = raw[rows["_err"] == code].compute()
    if code == 3:
        examples = ", ".join(map(repr, bad[time_col].astype(str).unique()[:3]))
        raise DataError(f"{vt}: column {time_col!r} has non-numeric times for patients "
                        f"{format_ids(bad[id_col])}: {examples} (neither numbers nor ISO "
                        "dates)")
    if code in (2, 4):
        what = "missing times" if code == 2 else "negative or infinite times"
        raise DataError(f"{vt}: column {time_col!r} has {what} for patients "
                        f"{format_ids(bad[id_col])}")
    v.recovery_status(bad.reset_index(drop=True), status_col, id_col, vt, recovered_when)
    raise AssertionError(f"row check {_CODES[code]} did not raise")  # pragma: no cover


def _decide_dates(dask, raw_v, id_col, time_col, vt, unit) -> bool:
    from .cohort_dask_dates import decide_dates, time_kinds

    kinds = raw_v.map_partitions(time_kinds, time_col, meta=(None, np.int8))
    return decide_dates(dask, raw_v, kinds, id_col=id_col, time_col=time_col, vt=vt,
                        unit=unit)


def _dated_rows(dask, raw_v, raw_p, *, id_col, time_col, status_col, recovered_when,
                origin_col, vt, pt, unit):
    """Clean rows whose times are dates converted to times since the origin; the row
    error counts and the largest time. The pandas engine's errors for patients without
    an origin and visits before it."""
    from .cohort_dask_dates import dated_times, origins
    from .timescale import UNIT_DAYS

    origin = origins(dask, raw_v, raw_p, id_col=id_col, time_col=time_col,
                     origin_col=origin_col, vt=vt, pt=pt)
    rows = raw_v.map_partitions(_clean_rows, id_col, time_col, status_col, recovered_when,
                                True, meta=_clean_rows(raw_v._meta, id_col, time_col,
                                                       status_col, recovered_when, True))
    times = raw_v.map_partitions(dated_times, origin, id_col=id_col, time_col=time_col,
                                 unit_days=UNIT_DAYS[unit],
                                 meta=pd.DataFrame({"time": np.array([], float),
                                                    "_no_origin": np.array([], bool),
                                                    "_before": np.array([], bool)}))
    n_unknown, n_before = dask.compute(times["_no_origin"].sum(), times["_before"].sum())
    if n_unknown:
        ids = raw_v[id_col][times["_no_origin"]].compute()
        raise DataError(f"{vt}: column {id_col!r} has patients that are not in {pt}: "
                        f"{format_ids(ids)}")
    if n_before:
        ids = raw_v[id_col][times["_before"]].compute()
        raise DataError(f"{vt}: column {time_col!r} has visit dates before the origin "
                        f"({pt} column {origin_col!r}) for patients {format_ids(ids)}")
    rows = rows.assign(time=times["time"])
    good_max, err_counts = dask.compute(rows["time"][rows["_err"] == 0].max(),
                                        rows["_err"].value_counts())
    return rows, _CountsView(err_counts), good_max


def _flag_ids(pp, id_col, flag) -> list:
    return sorted(pp[id_col][pp[flag]].compute().tolist(), key=_sort_key)


def _sort_key(x):
    return (0, x, "") if isinstance(x, int | float | np.integer | np.floating) else (1, 0, str(x))


# ---------------------------------------------------------------- the builder
def dask_visit_patterns(visits, patients, *, id_col, time_col, status_col, recovered_when,
                        follow_up, factors, covariates, dropna, vt, pt, origin_col,
                        visit_window, visit_interval=1.0, unit="month", scheduler=None,
                        coarsen=None, max_patterns=MAX_PATTERNS, exact_times=False):
    """Collapsed cohort parts from visit and patient tables, computed with Dask.

    Returns ``(patterns, grid, follow_up, excluded, notes)``: ``patterns`` has the
    covariate columns, :data:`IV_KEYS` and ``weight`` (patients per row); ``excluded`` a
    list of ``(patient, reason)``; ``notes`` the lines also given as warnings.
    Arguments as in :meth:`footdrop_bayes.Cohort.from_visits`.
    """
    dask, dd = import_dask()
    from .schedule import resolve_window

    resolve_window(visit_window, visit_interval, dated=False)   # a bad window: say so first
    with scheduler_context(scheduler) if scheduler is not None else nullcontext():
        return _build(dask, dd, visits, patients, id_col=id_col, time_col=time_col,
                      status_col=status_col, recovered_when=recovered_when,
                      follow_up=follow_up, factors=factors, covariates=covariates,
                      dropna=dropna, vt=vt, pt=pt, coarsen=coarsen,
                      max_patterns=max_patterns, visit_interval=visit_interval, unit=unit,
                      visit_window=visit_window, exact_times=exact_times,
                      origin_col=origin_col)


def _build(dask, dd, visits, patients, *, id_col, time_col, status_col, recovered_when,
           follow_up, factors, covariates, dropna, vt, pt, coarsen, max_patterns,
           visit_interval, unit, visit_window=None, exact_times=False, origin_col=None):
    from .schedule import resolve_window

    raw_v, raw_p = to_dask(visits, dd, id_col), to_dask(patients, dd, id_col)
    v.require_columns(raw_v._meta, [id_col, time_col, status_col], vt)
    v.require_columns(raw_p._meta, [id_col], pt)
    cols = list(factors) + list(covariates)
    rows = raw_v.map_partitions(_clean_rows, id_col, time_col, status_col, recovered_when,
                                meta=_clean_rows(raw_v._meta, id_col, time_col, status_col,
                                                 recovered_when))
    pid = raw_p[id_col]
    dup_p = pid.value_counts(split_out=max(1, raw_p.npartitions // 4))
    n_p, miss_p, dups, good_max, err_counts = dask.compute(
        pid.size, pid.isna().sum(), dup_p[dup_p > 1].index.to_series(),
        rows["time"][rows["_err"] == 0].max(), rows["_err"].value_counts())
    counts = _CountsView(err_counts)
    # --- the pandas engine's order: tables, ids, duplicates of patients, columns, rows
    if counts.total == 0:
        raise DataError(f"{vt}: the table is empty (no rows)")
    if n_p == 0:
        raise DataError(f"{pt}: the table is empty (no rows)")
    if counts.get(1):
        _raise_missing_ids(raw_v, id_col, vt)
    if miss_p:
        _raise_missing_ids(raw_p, id_col, pt)
    if len(dups):
        raise DataError(f"{pt}: column {id_col!r} lists patients more than once: "
                        f"{format_ids(_ids_in_order(raw_p, id_col, dups))}")
    v.require_columns(raw_p._meta, cols, pt)
    if counts.get(2):
        _raise_row_error(2, rows, raw_v, id_col, time_col, status_col, recovered_when, vt)
    dated = pd.api.types.is_datetime64_any_dtype(raw_v._meta[time_col]) or (
        counts.get(3) and _decide_dates(dask, raw_v, id_col, time_col, vt, unit))
    if dated:
        rows, counts, good_max = _dated_rows(
            dask, raw_v, raw_p, id_col=id_col, time_col=time_col, status_col=status_col,
            recovered_when=recovered_when, origin_col=origin_col, vt=vt, pt=pt, unit=unit)
    elif origin_col is not None:
        raise DataError(f"{vt}: column {time_col!r} holds numbers (times since the "
                        f"origin), so origin_col={origin_col!r} cannot apply; give dates "
                        "or leave origin_col out")
    window = resolve_window(visit_window, visit_interval, bool(dated))
    for code in range(3, 9):
        if counts.get(code):
            _raise_row_error(code, rows, raw_v, id_col, time_col, status_col,
                             recovered_when, vt)
    if follow_up is None:
        from .schedule import default_follow_up

        follow_up = default_follow_up(pd.Series([float(good_max)]), window, visit_interval)
    elif not np.isfinite(follow_up) or follow_up <= 0:
        raise DataError(f"follow_up must be a positive time, got {follow_up!r}")

    # --- per patient, after a shuffle by patient id
    good = rows[rows["_err"] == 0][[id_col, "time", "status"]]
    if window > 0:
        good = good.map_partitions(_with_pos, meta=good._meta.assign(
            _pos=np.array([], np.int64)))
    meta = _pp_meta(rows._meta[id_col])
    pp = good.shuffle(on=id_col).map_partitions(_per_patient, id_col, follow_up, window,
                                                visit_interval, exact_times, meta=meta)
    pp = pp.persist()
    pat = raw_p[[id_col, *cols]].assign(_in_patients=True)
    merged = pp.merge(pat, on=id_col, how="outer")
    unknown = merged["_in_patients"].isna()
    no_visits = merged["has_visits"].isna() | ~merged["has_visits"].fillna(False).astype(bool)
    kept = merged[~unknown & ~no_visits]
    grid_t = (good["time"][good["time"] <= follow_up + _EPS].unique() if window <= 0 else
              good.map_partitions(_window_times, follow_up, window, visit_interval,
                                  exact_times, meta=("time", float)).unique())
    complete = ~kept[cols].isna().any(axis=1) if cols else None
    usable = kept[complete] if cols else kept
    numeric_bad, converted = {}, {}
    for col in covariates:
        values = usable[col].map_partitions(pd.to_numeric, errors="coerce", meta=(col, float))
        numeric_bad[col] = (values.isna() | ~values.map_partitions(
            np.isfinite, meta=(col, bool))).sum()
        converted[col] = values
    final = _coarsen(usable.assign(**converted), coarsen, covariates)
    keys = cols + IV_KEYS
    key_frame = final[keys].assign(first_recovered=final["first_recovered"].fillna(-1.0))
    approx = key_frame.map_partitions(
        lambda d: pd.util.hash_pandas_object(d, index=False), meta=(None, "u8")
    ).nunique_approx()
    summary = dask.compute(pp["conflict"].sum(), pp["dup_rows"].sum(), unknown.sum(),
                           pp["n_late"].sum(), pp["at_zero"].sum(), no_visits.sum(),
                           pp["relapse"].sum(),
                           (pp["withdrawn"] & (pp["last_visit"] == 0)).sum(),
                           kept[cols].isna().sum() if cols else pd.Series(dtype=int),
                           grid_t, numeric_bad, approx)
    (n_conflict, n_dup, n_unknown, n_late, n_zero, n_novis, n_relapse, n_ref, n_missing,
     times, numeric_bad, n_est) = summary
    notes: list[str] = []
    if n_conflict:
        bad = pp[pp["conflict"]][[id_col, "conflict_time"]].compute()
        bad = bad.iloc[sorted(range(len(bad)), key=lambda i: _sort_key(bad[id_col].iloc[i]))]
        raise DataError(f"{vt}: conflicting recovery status recorded twice at the same "
                        f"visit (e.g. patient {bad[id_col].iloc[0]!r} at time "
                        f"{bad['conflict_time'].iloc[0]:g}) for patients "
                        f"{format_ids(bad[id_col])}")
    if n_dup:
        who = pp[id_col][pp["dup_rows"] > 0].compute().tolist()
        sub = rows[rows[id_col].isin(who) & (rows["_err"] == 0)][[id_col, "time"]].compute()
        ids = sub.loc[sub.duplicated([id_col, "time"], keep=False), id_col]
        warnings.warn(f"{vt}: dropped {int(n_dup)} identical duplicate visit row(s) of "
                      f"patients {format_ids(ids)}", DataWarning, stacklevel=4)
    if n_unknown:
        ids = _ids_in_order(rows, id_col, merged[id_col][unknown].compute(),
                            lambda d: d["_err"] == 0)
        raise DataError(f"{vt}: column {id_col!r} has patients that are not in {pt}: "
                        f"{format_ids(ids)}")
    if n_late:
        sub = rows[rows[id_col].isin(pp[id_col][pp["n_late"] > 0].compute().tolist())
                   & (rows["_err"] == 0)][[id_col, "time"]].compute().drop_duplicates()
        from .schedule import late_hint, late_text

        late = sub[sub["time"] > follow_up + window + _EPS]
        near = int((late["time"] <= follow_up + visit_interval / 2).sum()) if not window else 0
        text = f"{vt}: " + late_text(int(n_late), follow_up, window, unit,
                                     format_ids(late[id_col]), late_hint(near, visit_interval))
        notes.append(text)
        warnings.warn(text, DataWarning, stacklevel=4)
    if window > 0:
        for text in _window_notes(dask, pp, id_col, unit, window, visit_interval):
            notes.append(f"{vt}: {text}")
            warnings.warn(f"{vt}: {text}", DataWarning, stacklevel=4)
    if n_zero:
        ids = _ids_in_order(rows, id_col, pp[id_col][pp["at_zero"]].compute(),
                            lambda d: (d["_err"] == 0) & d["status"] & (d["time"] == 0))
        raise DataError(f"{vt}: column {status_col!r} records recovery at time 0 (every "
                        f"patient has foot drop at referral) for patients {format_ids(ids)}")
    excluded = []
    if n_novis:
        ids = _ids_in_order(raw_p, id_col, merged[id_col][no_visits].compute())
        warnings.warn(f"{pt}: excluded patients with no visits (within follow-up) in {vt}: "
                      f"{format_ids(ids)}", DataWarning, stacklevel=4)
        excluded += [(i, f"no visits in {vt}") for i in ids]
    if n_relapse:
        warnings.warn(f"{vt}: patients recorded as not recovered after a recovery (the "
                      f"first recovery is kept): {format_ids(_flag_ids(pp, id_col, 'relapse'))}",
                      DataWarning, stacklevel=4)
    if n_ref:
        only = pp[id_col][pp["withdrawn"] & (pp["last_visit"] == 0)].compute()
        warnings.warn(f"{vt}: patients seen only at referral (time 0) are kept as withdrawn "
                      "and censored at 0, but carry no information on recovery: "
                      f"{format_ids(sorted(only.tolist(), key=_sort_key))}",
                      DataWarning, stacklevel=4)
    dropped = _check_covariates(kept, id_col, factors, covariates, n_missing, numeric_bad,
                                dropna, pt)
    excluded += [(i, "missing covariate values") for i in dropped]
    patterns = _collapse(dask, final, key_frame, cols, int(n_est), max_patterns)
    grid = np.union1d([0.0], np.asarray(times, float))
    return patterns, grid, follow_up, excluded, notes


def format_first_ids(head: list, n: int) -> str:
    """:func:`~footdrop_bayes.errors.format_ids` of ``n`` distinct ids of which only the
    first few (``head``, in order) were brought back to the driver."""
    text = format_ids(head)
    if n > len(head):
        text = f"{text.rsplit(' (', 1)[0]} and {n - len(head)} more ({n} patients)"
    return text


def _window_notes(dask, pp, id_col, unit, window, interval) -> list[str]:
    """The pandas engine's notes on visits outside the windows, moved and merged, from
    the per-patient counts (patients named in row order by their first such visit)."""
    from .schedule import merged_text, moved_text, off_text

    n_off, n_moved, shift, n_merged, n_conflict = dask.compute(
        pp["n_off"].sum(), pp["n_moved"].sum(), pp["max_shift"].max(), pp["n_merged"].sum(),
        pp["merge_conflict"].sum())

    def ids(flag, pos_col):
        sel = pp[flag]
        # (the id column is taken on the driver: Dask pushes a column selection into
        # nsmallest and then fails)
        head, n = dask.compute(sel[[id_col, pos_col]].nsmallest(5, pos_col), flag.sum())
        return format_first_ids(head[id_col].tolist(), int(n))

    texts = []
    if n_off:
        texts.append(off_text(int(n_off), window, interval, unit,
                              ids(pp["n_off"] > 0, "off_pos")))
    if n_moved:
        texts.append(moved_text(int(n_moved), window, float(shift), unit,
                                ids(pp["n_moved"] > 0, "moved_pos")))
    if n_merged:
        texts.append(merged_text(int(n_merged), ids(pp["n_merged"] > 0, "merged_pos"),
                                 ids(pp["merge_conflict"], "conflict_pos")
                                 if n_conflict else None))
    return texts


class _CountsView:
    def __init__(self, counts):
        self.counts = counts
        self.total = int(self.counts.sum())

    def get(self, code):
        return int(self.counts.get(code, 0))


def _check_covariates(kept, id_col, factors, covariates, n_missing, numeric_bad, dropna,
                      pt) -> list:
    """Missing and non-numeric covariate values: the pandas engine's errors (sorted ids).

    Returns the ids of the patients excluded for missing values (``dropna=True``)."""
    dropped: list = []
    cols = list(factors) + list(covariates)
    if cols and int(np.asarray(n_missing).sum()):
        miss = kept[kept[cols].isna().any(axis=1)][[id_col, *cols]].compute()
        miss = miss.iloc[sorted(range(len(miss)), key=lambda i: _sort_key(miss[id_col].iloc[i]))]
        detail = "; ".join(f"{c!r}: {format_ids(miss.loc[miss[c].isna(), id_col])}"
                           for c in cols if miss[c].isna().any())
        if not dropna:
            raise DataError(f"{pt}: missing covariate values in {detail}. Fill them, remove "
                            "the column, or pass dropna=True to exclude these patients")
        warnings.warn(f"{pt}: excluded {len(miss)} patient(s) with missing covariate "
                      f"values in {detail}", DataWarning, stacklevel=5)
        dropped = miss[id_col].tolist()
        kept = kept[~kept[cols].isna().any(axis=1)]
    for col in covariates:
        if int(numeric_bad[col]):
            sub = kept[[id_col, col]].compute()
            values = pd.to_numeric(sub[col], errors="coerce")
            sub = sub[values.isna() | ~np.isfinite(values.astype(float))]
            sub = sub.iloc[sorted(range(len(sub)), key=lambda i: _sort_key(sub[id_col].iloc[i]))]
            raise DataError(f"{pt}: column {col!r} should be numeric but has values "
                            f"{list(sub[col].unique()[:3])} for patients "
                            f"{format_ids(sub[id_col])}")
    return dropped


def _coarsen(kept, coarsen, covariates):
    """Round numeric covariates to multiples of ``coarsen[col]`` before collapsing."""
    if not coarsen:
        return kept
    unknown = [c for c in coarsen if c not in covariates]
    if unknown:
        raise DataError(f"coarsen= names columns that are not numeric covariates: {unknown} "
                        f"(numeric covariates: {list(covariates) or 'none'})")
    out = {}
    for col, step in coarsen.items():
        if not (np.isfinite(step) and step > 0):
            raise DataError(f"coarsen={{{col!r}: {step!r}}}: the step must be a positive number")
        out[col] = (kept[col] / step).round() * step
    return kept.assign(**out)


def _collapse(dask, final, key_frame, cols, n_est, max_patterns):
    """Patients counted by (covariates, interval); a DataError past the pattern budget
    (``n_est``: a HyperLogLog estimate of the distinct rows, computed beforehand)."""
    keys = cols + IV_KEYS
    if n_est > max_patterns:
        per_col = dask.compute(*[final[c].nunique_approx() for c in cols])
        ranked = sorted(zip(cols, per_col, strict=True), key=lambda x: -x[1])
        detail = ", ".join(f"{c!r} ({int(n):,} values)" for c, n in ranked[:3])
        raise DataError(
            f"about {n_est:,} distinct (covariate pattern, interval) rows, more than the "
            f"budget of {max_patterns:,} (max_patterns=); the columns with most distinct "
            f"values: {detail}. Round numeric covariates before collapsing, e.g. "
            f"coarsen={{{ranked[0][0]!r}: 1}}, or raise max_patterns")
    table = key_frame.groupby(keys, dropna=False, observed=True).size().compute()
    out = table.rename("weight").reset_index()
    out["first_recovered"] = out["first_recovered"].where(out["event"], np.nan)
    if len(out) > max_patterns:
        raise DataError(f"{len(out):,} distinct (covariate pattern, interval) rows, more "
                        f"than the budget of {max_patterns:,} (max_patterns=)")
    return out
