"""The checks behind :class:`~footdrop_bayes.errors.DataError` messages.

Every function either returns cleaned data or raises one ``DataError`` that names
the table, the column and the offending patients (the first few and a count).
"""

from __future__ import annotations

import operator
import re
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from .errors import DataError, DataWarning, format_ids

_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
        "==": operator.eq}
_RULE = re.compile(r"^\s*(>=|>|<=|<|==)\s*(-?\d+(?:\.\d+)?)\s*$")


def require_table(df: pd.DataFrame, table: str) -> None:
    """Raise when ``df`` is not a non-empty DataFrame."""
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{table}: expected a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise DataError(f"{table}: the table is empty (no rows)")


def require_columns(df: pd.DataFrame, columns: list[str], table: str) -> None:
    """Raise when any of ``columns`` is missing, suggesting near matches."""
    missing = [c for c in columns if c not in df.columns]
    if not missing:
        return
    have = ", ".join(map(str, df.columns))
    hints = []
    lower = {str(c).lower().strip(): c for c in df.columns}
    for c in missing:
        if str(c).lower().strip() in lower:
            hints.append(f"{c!r} may be {lower[str(c).lower().strip()]!r}")
    hint = f" ({'; '.join(hints)})" if hints else ""
    raise DataError(
        f"{table}: missing column(s) {', '.join(map(repr, missing))}{hint}; "
        f"the table has: {have}"
    )


def require_ids(df: pd.DataFrame, id_col: str, table: str) -> None:
    """Raise when patient ids are missing."""
    bad = df[id_col].isna()
    if bad.any():
        rows = list(np.flatnonzero(bad.to_numpy()) + 1)
        raise DataError(f"{table}: column {id_col!r} has missing patient ids in rows "
                        f"{', '.join(map(str, rows[:5]))}{' ...' if len(rows) > 5 else ''}")


def numeric_times(df: pd.DataFrame, time_col: str, id_col: str, table: str,
                  *, integer: bool = False) -> pd.Series:
    """Return the time column as floats; raise on missing, non-numeric, negative times."""
    raw = df[time_col]
    times = pd.to_numeric(raw, errors="coerce")
    missing = raw.isna()
    nonnum = times.isna() & ~missing
    for mask, what in ((missing, "missing times"), (nonnum, "non-numeric times")):
        if mask.any():
            raise DataError(f"{table}: column {time_col!r} has {what} for patients "
                            f"{format_ids(df.loc[mask, id_col])}")
    times = times.astype(float)
    bad = ~np.isfinite(times) | (times < 0)
    if bad.any():
        raise DataError(f"{table}: column {time_col!r} has negative or infinite times for "
                        f"patients {format_ids(df.loc[bad, id_col])}")
    if integer:
        frac = times != np.round(times)
        if frac.any():
            raise DataError(
                f"{table}: column {time_col!r} must hold whole numbers of time units (the "
                f"model works on an integer grid); non-integer times for patients "
                f"{format_ids(df.loc[frac, id_col])}. Round them or change the time unit."
            )
    return times


def recovery_rule(recovered_when: str | Callable | None) -> Callable | None:
    """Turn ``'>=4'`` or a callable into a function of a Series returning booleans."""
    if recovered_when is None or callable(recovered_when):
        return recovered_when
    match = _RULE.match(str(recovered_when))
    if not match:
        raise DataError(f"recovered_when={recovered_when!r} is not a rule such as '>=4' "
                        "(operators >=, >, <=, <, ==) or a callable")
    op, threshold = _OPS[match.group(1)], float(match.group(2))
    return lambda s: op(s, threshold)


def recovery_status(df: pd.DataFrame, status_col: str, id_col: str, table: str,
                    recovered_when: str | Callable | None) -> pd.Series:
    """Return a boolean recovery status, from booleans / 0-1 or a grade and a rule."""
    raw = df[status_col]
    if raw.isna().any():
        raise DataError(f"{table}: column {status_col!r} has missing status for patients "
                        f"{format_ids(df.loc[raw.isna(), id_col])}")
    rule = recovery_rule(recovered_when)
    if rule is not None:
        grade = pd.to_numeric(raw, errors="coerce") if not callable(recovered_when) else raw
        if grade.isna().any():
            raise DataError(f"{table}: column {status_col!r} holds values that are not grades "
                            f"for patients {format_ids(df.loc[grade.isna(), id_col])}")
        out = pd.Series(np.asarray(rule(grade)), index=df.index)
        if out.dtype != bool:
            raise DataError(f"recovered_when must give True/False per visit; got {out.dtype}")
        return out
    if raw.dtype == bool:
        return raw.astype(bool)
    # a text column (e.g. CSV with one stray value): read "true"/"false" as booleans so
    # that only the rows that are neither are reported
    text = raw.astype(str).str.strip().str.lower()
    raw = raw.where(~text.isin(["true", "false"]), text.eq("true").astype(int))
    num = pd.to_numeric(raw, errors="coerce")
    if num.isna().any():
        bad = df.loc[num.isna(), id_col]
        examples = ", ".join(map(repr, raw[num.isna()].unique()[:3]))
        raise DataError(f"{table}: column {status_col!r} holds values ({examples}) that are "
                        f"neither boolean nor a grade, for patients {format_ids(bad)}")
    if not num.isin([0, 1]).all():
        levels = sorted(num.unique())
        raise DataError(f"{table}: column {status_col!r} looks like a grade (values "
                        f"{levels[0]:g}–{levels[-1]:g}); say which grades count as recovered, "
                        "e.g. recovered_when='>=4'")
    return num.astype(bool)


def deduplicate_visits(df: pd.DataFrame, id_col: str, table: str) -> pd.DataFrame:
    """Drop identical duplicate visits with a warning; raise on conflicting ones.

    ``df`` has columns ``id_col``, ``time``, ``status`` (already cleaned).
    """
    dup = df.duplicated([id_col, "time"], keep=False)
    if not dup.any():
        return df
    groups = df[dup].groupby([id_col, "time"])["status"].nunique()
    conflicting = groups[groups > 1]
    if len(conflicting):
        ids = conflicting.index.get_level_values(0)
        first = conflicting.index[0]
        raise DataError(f"{table}: conflicting recovery status recorded twice at the same "
                        f"visit (e.g. patient {first[0]!r} at time {first[1]:g}) for patients "
                        f"{format_ids(ids)}")
    ids = df.loc[dup, id_col]
    warnings.warn(f"{table}: dropped {int(dup.sum() - len(groups))} identical duplicate visit "
                  f"row(s) of patients {format_ids(ids)}", DataWarning, stacklevel=3)
    return df.drop_duplicates([id_col, "time"])


def unique_patients(df: pd.DataFrame, id_col: str, table: str) -> None:
    """Raise when a patient has more than one row."""
    dup = df[id_col].duplicated(keep=False)
    if dup.any():
        raise DataError(f"{table}: column {id_col!r} lists patients more than once: "
                        f"{format_ids(df.loc[dup, id_col])}")
