"""Visit dates in the Dask engine: dates -> times since each patient's origin.

The pandas engine's :func:`footdrop_bayes.timescale.visit_times`, partition by partition:
each row's time column is classified (number, date, neither), the pandas engine's rules
and messages decide between numeric times, dates and an error, and dates become times
since the origin (``origin_col`` of the patients table, else the patient's first visit)
in the time unit. The origins (one date per patient) are gathered on the driver and
broadcast to the partitions, so row order is kept and the rest of the engine
(:mod:`footdrop_bayes.cohort_dask`) runs on numeric times as given.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.types import is_datetime64_any_dtype, is_numeric_dtype

from .errors import DataError, format_ids

_KIND_MISSING, _KIND_NUMBER, _KIND_DATE, _KIND_NEITHER = -1, 0, 1, 2


def _parse(raw: pd.Series) -> pd.Series:
    from .timescale import _as_dates

    return _as_dates(raw)


def time_kinds(part: pd.DataFrame, time_col: str) -> pd.Series:
    """Per row: missing (-1), a number (0), a date (1) or neither (2), as the pandas
    engine classifies the column's values."""
    raw = part[time_col]
    if is_datetime64_any_dtype(raw):
        kind = np.where(raw.isna(), _KIND_MISSING, _KIND_DATE)
        return pd.Series(kind.astype(np.int8), index=part.index)
    numbers = (pd.to_numeric(raw, errors="coerce") if raw.dtype != bool
               else pd.Series(np.nan, index=raw.index))
    is_num = numbers.notna().to_numpy()
    is_date = (_parse(raw).notna().to_numpy() if not is_numeric_dtype(raw)
               else np.zeros(len(raw), bool)) & ~is_num
    kind = np.where(raw.isna(), _KIND_MISSING, np.where(
        is_num, _KIND_NUMBER, np.where(is_date, _KIND_DATE, _KIND_NEITHER)))
    return pd.Series(kind.astype(np.int8), index=part.index)


def decide_dates(dask, raw_v, kinds, *, id_col, time_col, vt, unit) -> bool:
    """True when the (non-missing) time column holds dates; the pandas engine's errors for
    numbers mixed with dates and for values that are neither. False: numeric times (the
    caller's row checks then name any non-numeric value)."""
    from .timescale import UNIT_DAYS, time_unit_name

    counts = kinds.value_counts().compute()
    n_num, n_date, n_neither = (int(counts.get(k, 0))
                                for k in (_KIND_NUMBER, _KIND_DATE, _KIND_NEITHER))
    if not n_date and n_num:
        return False            # numbers and non-numbers: the row checks name them
    if n_num:
        num_ids, date_ids = dask.compute(raw_v[id_col][kinds == _KIND_NUMBER],
                                         raw_v[id_col][kinds == _KIND_DATE])
        raise DataError(f"{vt}: column {time_col!r} mixes numbers (for patients "
                        f"{format_ids(num_ids)}) with dates (for patients "
                        f"{format_ids(date_ids)}); give all times as dates or all as "
                        f"numbers of {time_unit_name(unit)}s")
    if n_neither:
        bad = raw_v[kinds == _KIND_NEITHER][[id_col, time_col]].compute()
        examples = ", ".join(map(repr, bad[time_col].astype(str).unique()[:3]))
        raise DataError(f"{vt}: column {time_col!r} has values ({examples}) that are "
                        f"neither numbers nor dates (ISO 8601, e.g. 2024-03-01) for patients "
                        f"{format_ids(bad[id_col])}")
    if unit not in UNIT_DAYS:
        raise DataError(f"{vt}: column {time_col!r} holds dates; time_unit must be one "
                        f"of {', '.join(UNIT_DAYS)} to convert them, got {unit!r}")
    return True


def date_ns(raw: pd.Series) -> np.ndarray:
    """Dates as int64 nanoseconds (NaT -> the int64 minimum); time zones refused."""
    dates = _parse(raw)
    if getattr(dates.dt, "tz", None) is not None:
        raise DataError("dates with a time zone need engine='pandas' (or give them without "
                        "one)")
    return dates.astype("datetime64[ns]").to_numpy().view(np.int64)


def origins(dask, raw_v, raw_p, *, id_col, time_col, origin_col, vt, pt) -> pd.Series:
    """Each patient's origin date (int64 ns), indexed by patient id: ``origin_col`` of the
    patients table, else the first visit. The pandas engine's errors for a missing or
    unparsable origin column."""
    if origin_col is None:
        first = raw_v[[id_col, time_col]].map_partitions(
            lambda d: pd.DataFrame({id_col: d[id_col].to_numpy(),
                                    "_ns": date_ns(d[time_col])}),
            meta=pd.DataFrame({id_col: raw_v._meta[id_col].iloc[:0],
                               "_ns": np.array([], np.int64)}))
        return first.groupby(id_col)["_ns"].min().compute()
    if origin_col not in raw_p.columns:
        raise DataError(f"{pt}: missing origin column {origin_col!r}; the table has: "
                        f"{', '.join(map(str, raw_p.columns))}")
    table = raw_p[[id_col, origin_col]].compute()
    parsed = _parse(table[origin_col])
    bad = parsed.isna()
    if bad.any():
        what = "missing" if table[origin_col][bad].isna().all() else "missing or unparsable"
        raise DataError(f"{pt}: column {origin_col!r} has {what} origin dates for patients "
                        f"{format_ids(table.loc[bad, id_col])}")
    return pd.Series(date_ns(table[origin_col]), index=table[id_col].to_numpy())


def dated_times(part: pd.DataFrame, origin: pd.Series, *, id_col, time_col,
                unit_days: float) -> pd.DataFrame:
    """Per row: time since the origin in the unit (NaN where unknown), whether the
    patient has no origin (``_no_origin``) and whether the visit is before it."""
    ns = date_ns(part[time_col])
    o = part[id_col].map(origin)
    no_origin = o.isna().to_numpy()
    diff = ns - np.where(no_origin, 0, o.fillna(0).to_numpy(np.int64))
    days = pd.Series(diff.astype("timedelta64[ns]")).dt.total_seconds().to_numpy() / 86400.0
    days = np.where(no_origin, np.nan, days)
    with np.errstate(invalid="ignore"):
        before = ~no_origin & (days < 0)
    return pd.DataFrame({"time": days / unit_days, "_no_origin": no_origin,
                         "_before": before}, index=part.index)
