"""Typing of baseline characteristics: categorical factors and numeric covariates.

Reference levels
----------------
Each factor is stored as a pandas ``Categorical`` whose *first* category is its
reference level. The reference is, in order of precedence: the level named in
``reference={column: level}``; the first category of a column that already is a
pandas ``Categorical``; otherwise the most frequent level (ties broken by sort order),
which gives the most stable contrasts. Other levels follow in sorted order (or in the
given categorical order).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from .errors import DataError, DataWarning, format_ids


def infer_roles(df: pd.DataFrame, exclude: list[str]) -> tuple[list[str], list[str]]:
    """Split columns into factors (text, categorical, boolean) and numeric covariates."""
    factors, numeric = [], []
    for col in df.columns:
        if col in exclude:
            continue
        s = df[col]
        if is_numeric_dtype(s) and not is_bool_dtype(s):
            numeric.append(col)
        else:
            factors.append(col)
    return factors, numeric


def _order_levels(s: pd.Series, reference) -> list:
    if isinstance(s.dtype, pd.CategoricalDtype):
        levels = [c for c in s.cat.categories if (s == c).any()]
    else:
        levels = sorted(s.unique(), key=str)
    if reference is None:
        if isinstance(s.dtype, pd.CategoricalDtype):
            reference = levels[0]
        else:
            counts = s.value_counts()
            reference = sorted(counts[counts == counts.max()].index, key=str)[0]
    if reference not in levels and str(reference) in map(str, levels):
        reference = next(lv for lv in levels if str(lv) == str(reference))
    if reference not in levels:
        raise DataError(f"reference level {reference!r} of column {s.name!r} is not among its "
                        f"levels: {', '.join(map(str, levels))}")
    return [reference] + [lv for lv in levels if lv != reference]


def type_covariates(df: pd.DataFrame, factors: list[str], numeric: list[str], *, table: str,
                    reference: dict | None = None, dropna: bool = False
                    ) -> tuple[pd.DataFrame, pd.Index]:
    """Return typed covariates (indexed like ``df``) and the index of dropped rows.

    Parameters
    ----------
    df : DataFrame
        One row per patient, indexed by patient id.
    factors, numeric : list of str
        Columns to treat as categorical factors and as numeric covariates.
    table : str
        Name of the table, for messages.
    reference : dict, optional
        Reference level per factor.
    dropna : bool
        Drop patients with missing values (with a warning naming them) instead of raising.
    """
    reference = dict(reference or {})
    unknown = [c for c in reference if c not in factors]
    if unknown:
        raise DataError(f"reference levels given for columns that are not factors: {unknown}")
    overlap = set(factors) & set(numeric)
    if overlap:
        raise DataError(f"{table}: columns listed both as factors and covariates: "
                        f"{sorted(overlap)}")
    cols = list(factors) + list(numeric)
    out = df[cols].copy()
    missing = out.isna()
    dropped = out.index[missing.any(axis=1)]
    if len(dropped):
        detail = "; ".join(f"{c!r}: {format_ids(out.index[missing[c]])}"
                           for c in cols if missing[c].any())
        if not dropna:
            raise DataError(f"{table}: missing covariate values in {detail}. Fill them, remove "
                            "the column, or pass dropna=True to exclude these patients")
        warnings.warn(f"{table}: excluded {len(dropped)} patient(s) with missing covariate "
                      f"values in {detail}", DataWarning, stacklevel=3)
        out = out.drop(index=dropped)
    for col in numeric:
        values = pd.to_numeric(out[col], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.astype(float))
        if bad.any():
            raise DataError(f"{table}: column {col!r} should be numeric but has values "
                            f"{list(out.loc[bad, col].unique()[:3])} for patients "
                            f"{format_ids(out.index[bad])}")
        out[col] = values.astype(float)
        if out[col].nunique() < 2:
            raise DataError(f"{table}: covariate {col!r} takes a single value "
                            f"({out[col].iloc[0]:g}); it carries no information, remove it")
    for col in factors:
        s = out[col]
        if not isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(str) if not is_bool_dtype(s) else s.map({True: "yes", False: "no"})
        levels = _order_levels(s, reference.get(col))
        if len(levels) < 2:
            raise DataError(f"{table}: factor {col!r} has a single level ({levels[0]!r}) "
                            "among the patients analysed; it carries no information, remove it")
        out[col] = pd.Categorical(s, categories=levels)
    return out, dropped
