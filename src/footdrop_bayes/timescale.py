"""Visit times: numbers or dates, turned into time since each patient's origin.

Time units
----------
A time unit is named explicitly (``time_unit=``), never guessed from a column name.
Numeric times are taken to be in that unit already (it is then only a label). Dates are
converted to days since the origin and divided by the unit's length in days:

========  ===========================================================
unit      days
========  ===========================================================
``day``   1
``week``  7
``month`` 30.4375 (the mean Gregorian month: 365.25 / 12)
``year``  365.25
========  ===========================================================

The origin (time 0) is a per-patient date in the patients table (``origin_col=``, e.g.
the referral or onset date) or, without one, each patient's first visit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.types import is_datetime64_any_dtype, is_numeric_dtype

from .errors import DataError, format_ids

#: Length of each time unit in days (dates are divided by it).
UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 30.4375, "year": 365.25}

#: The default time unit of visit tables (foot-drop clinics review monthly).
DEFAULT_TIME_UNIT = "month"


def time_unit_name(time_unit: str) -> str:
    """Return the singular name of a time unit (``"months"`` -> ``"month"``).

    Any non-empty name is accepted for numeric times (it labels tables and figures and
    names the model's time dimension); the four units of :data:`UNIT_DAYS` can also
    convert dates.
    """
    if not isinstance(time_unit, str) or not time_unit.strip().isidentifier():
        raise DataError(f"time_unit must be a name such as 'month', 'week' or 'day', got "
                        f"{time_unit!r}")
    name = time_unit.strip().lower()
    if name not in UNIT_DAYS and name.endswith("s") and name[:-1] in UNIT_DAYS:
        name = name[:-1]
    return name


def _as_dates(raw: pd.Series) -> pd.Series:
    """Parse a column as dates (datetime dtype kept, text read as ISO 8601); NaT if not."""
    if is_datetime64_any_dtype(raw):
        return raw
    text = raw.astype("string").str.strip()
    return pd.to_datetime(text, format="ISO8601", errors="coerce")


def is_date_column(raw: pd.Series) -> bool:
    """True if the column holds dates: a datetime dtype, or text that all parses as dates."""
    if is_datetime64_any_dtype(raw):
        return True
    if is_numeric_dtype(raw) or raw.dtype == bool:
        return False
    values = raw.dropna()
    if values.empty:
        return False
    if pd.to_numeric(values, errors="coerce").notna().any():
        return False
    return bool(_as_dates(values).notna().all())


def visit_times(visits: pd.DataFrame, time_col: str, id_col: str, table: str, *,
                patients: pd.DataFrame | None = None, origin_col: str | None = None,
                patients_table: str = "patients", time_unit: str = DEFAULT_TIME_UNIT
                ) -> tuple[pd.Series, bool]:
    """Return visit times since the origin in ``time_unit``, and whether they were dates.

    Parameters
    ----------
    visits : DataFrame
        Visit rows with ``id_col`` and ``time_col``.
    time_col : str
        Numbers (already in ``time_unit``, since the origin) or dates (datetime values or
        ISO 8601 text such as ``"2024-03-01"``).
    id_col, table : str
        Patient id column and the table's name, for messages.
    patients, origin_col, patients_table
        The patients table, its per-patient origin date column and its name; without
        ``origin_col`` the origin of date times is each patient's first visit.
    time_unit : str
        ``"day"``, ``"week"``, ``"month"`` (30.4375 days) or ``"year"`` for dates.

    Returns
    -------
    times : Series of float
        Same index as ``visits``.
    dated : bool
        True when ``time_col`` held dates.

    Raises
    ------
    DataError
        Missing, unparsable or negative times, numbers mixed with dates, dates before the
        origin, a missing origin, or ``origin_col`` with numeric times.
    """
    raw = visits[time_col]
    ids = visits[id_col]
    missing = raw.isna()
    if missing.any():
        raise DataError(f"{table}: column {time_col!r} has missing times for patients "
                        f"{format_ids(ids[missing])}")
    if is_datetime64_any_dtype(raw):
        dates, numbers = raw, None
    else:
        numbers = pd.to_numeric(raw, errors="coerce") if raw.dtype != bool else None
        dates = _as_dates(raw) if not is_numeric_dtype(raw) else None
    if numbers is not None and numbers.notna().all():
        if origin_col is not None:
            raise DataError(f"{table}: column {time_col!r} holds numbers (times since the "
                            f"origin), so origin_col={origin_col!r} cannot apply; give dates "
                            "or leave origin_col out")
        times = numbers.astype(float)
        bad = ~np.isfinite(times) | (times < 0)
        if bad.any():
            raise DataError(f"{table}: column {time_col!r} has negative or infinite times "
                            f"for patients {format_ids(ids[bad])}")
        return times, False
    if dates is None:   # numeric dtype with a NaN-free coercion failure cannot happen
        raise DataError(f"{table}: column {time_col!r} has non-numeric times")
    is_num = numbers.notna() if numbers is not None else pd.Series(False, index=raw.index)
    is_date = dates.notna() & ~is_num
    if is_num.any() and is_date.any():
        raise DataError(f"{table}: column {time_col!r} mixes numbers (for patients "
                        f"{format_ids(ids[is_num])}) with dates (for patients "
                        f"{format_ids(ids[is_date])}); give all times as dates or all as "
                        f"numbers of {time_unit_name(time_unit)}s")
    if is_num.any() and not is_date.any():
        bad = ~is_num
        examples = ", ".join(map(repr, raw[bad].astype(str).unique()[:3]))
        raise DataError(f"{table}: column {time_col!r} has non-numeric times for patients "
                        f"{format_ids(ids[bad])}: {examples} (neither numbers nor ISO dates)")
    bad = ~is_date
    if bad.any():
        examples = ", ".join(map(repr, raw[bad].astype(str).unique()[:3]))
        raise DataError(f"{table}: column {time_col!r} has values ({examples}) that are "
                        f"neither numbers nor dates (ISO 8601, e.g. 2024-03-01) for patients "
                        f"{format_ids(ids[bad])}")
    unit = time_unit_name(time_unit)
    if unit not in UNIT_DAYS:
        raise DataError(f"{table}: column {time_col!r} holds dates; time_unit must be one "
                        f"of {', '.join(UNIT_DAYS)} to convert them, got {time_unit!r}")
    origin = _origins(dates, ids, table, patients, origin_col, patients_table)
    days = (dates - origin).dt.total_seconds().to_numpy() / 86400.0
    before = days < 0
    if before.any():
        raise DataError(f"{table}: column {time_col!r} has visit dates before the origin "
                        f"({patients_table} column {origin_col!r}) for patients "
                        f"{format_ids(ids[before])}")
    return pd.Series(days / UNIT_DAYS[unit], index=visits.index, dtype=float), True


def _origins(dates, ids, table, patients, origin_col, patients_table) -> pd.Series:
    """Per visit row: the patient's origin date (origin column or first visit)."""
    if origin_col is None:
        return dates.groupby(ids.to_numpy()).transform("min")
    if patients is None or origin_col not in patients.columns:
        have = ", ".join(map(str, patients.columns)) if patients is not None else "-"
        raise DataError(f"{patients_table}: missing origin column {origin_col!r}; the table "
                        f"has: {have}")
    id_col = ids.name
    raw = patients[origin_col]
    parsed = _as_dates(raw)
    bad = parsed.isna()
    if bad.any():
        what = "missing" if raw[bad].isna().all() else "missing or unparsable"
        raise DataError(f"{patients_table}: column {origin_col!r} has {what} origin dates "
                        f"for patients {format_ids(patients.loc[bad, id_col])}")
    lookup = pd.Series(parsed.to_numpy(), index=patients[id_col].to_numpy())
    out = ids.map(lookup)
    unknown = out.isna()
    if unknown.any():
        raise DataError(f"{table}: column {id_col!r} has patients that are not in "
                        f"{patients_table}: {format_ids(ids[unknown])}")
    if getattr(out.dt, "tz", None) != getattr(dates.dt, "tz", None):
        raise DataError(f"{table}: visit dates and {patients_table} column {origin_col!r} "
                        "differ in time zone; give both with or both without one")
    return out
