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

import re
import warnings

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from .errors import DataError, DataWarning, format_ids


def infer_roles(df: pd.DataFrame, exclude: list[str]) -> tuple[list[str], list[str]]:
    """Split columns into factors (text, categorical, boolean) and numeric covariates.

    Dates and id-like columns are neither (see :func:`explain_roles`, which also says
    why each column got its role).
    """
    roles = explain_roles(df, exclude)
    return (roles.index[roles["role"] == "factor"].tolist(),
            roles.index[roles["role"] == "numeric"].tolist())


#: Column names that mark an identifier (matched as whole words, case-insensitive).
_ID_NAME = re.compile(r"(^|_|\b)(id|ids|mrn|nhs|number|no|code|key|uuid)(_|\b|$)", re.I)


def explain_roles(df: pd.DataFrame, exclude=()) -> pd.DataFrame:
    """Choose each column's role from its values, and say why.

    Rules, in order: a date (datetime dtype or text that is all ISO dates) is
    ``ignored`` (give it as ``origin_col=`` or derive a number from it); an id-like
    column is ``ignored`` (text with a different value for every patient, or whole
    numbers that are all different and either consecutive or named like an id:
    ``id``, ``mrn``, ``number``, ``code``, ...; at least 10 patients); text,
    categorical and boolean columns are ``factor``; other numeric columns are
    ``numeric``.

    Parameters
    ----------
    df : DataFrame
        One row per patient.
    exclude : sequence of str
        Columns not to consider (the id, the group).

    Returns
    -------
    DataFrame
        Indexed by ``column``, with ``role`` (``factor``, ``numeric`` or ``ignored``)
        and ``reason``.
    """
    from .timescale import is_date_column

    rows = []
    for col in df.columns:
        if col in exclude:
            continue
        s = df[col]
        values = s.dropna()
        n, k = len(values), values.nunique()
        whole = (is_numeric_dtype(s) and not is_bool_dtype(s) and n > 0
                 and bool(np.all(np.mod(values.to_numpy(float), 1) == 0)))
        if is_date_column(s):
            role, why = "ignored", "holds dates (use it as origin_col=, or derive a number)"
        elif n >= 10 and k == n and not is_numeric_dtype(s) and not is_bool_dtype(s):
            role, why = "ignored", f"id-like: a different value for each of the {n} patients"
        elif n >= 10 and k == n and whole and (
                _ID_NAME.search(str(col)) or values.max() - values.min() == n - 1):
            role, why = "ignored", (f"id-like: distinct whole numbers for all {n} patients"
                                    + (" (consecutive)" if values.max() - values.min() == n - 1
                                       else f" (name {col!r})"))
        elif is_numeric_dtype(s) and not is_bool_dtype(s):
            role, why = "numeric", f"numbers ({k} distinct values)"
        elif is_bool_dtype(s):
            role, why = "factor", "yes/no values"
        else:
            role, why = "factor", f"text or categories ({k} levels)"
        rows.append((col, role, why))
    return pd.DataFrame(rows, columns=["column", "role", "reason"]).set_index("column")


def describe_roles(roles: pd.DataFrame) -> str:
    """The chosen roles and why, in one line (for messages and the command line)."""
    names = {r: ", ".join(map(str, roles.index[roles["role"] == r])) or "(none)"
             for r in ("factor", "numeric")}
    line = (f"inferred factors: {names['factor']}; numeric covariates: {names['numeric']} "
            "(factors: text, categorical or yes/no columns; covariates: numbers)")
    ignored = roles[roles["role"] == "ignored"]
    if len(ignored):
        line += "; not used: " + "; ".join(f"{c} ({r})" for c, r in ignored["reason"].items())
    return line


def near_duplicate_levels(s: pd.Series, *, column: str, table: str,
                          weights=None) -> None:
    """Warn (``DataWarning``) when levels differ only in case or spaces.

    ``'Trauma'``, ``'trauma'`` and ``'trauma '`` are kept as separate levels (nothing is
    changed), but the warning names them and the patients holding the rarer spellings.
    With ``weights`` (a collapsed table: patients per row) the spellings are ordered by
    patients and the warning gives their number (a collapsed table has no patient ids).
    """
    text = s.dropna().astype(str)
    key = text.str.strip().str.replace(r"\s+", " ", regex=True).str.casefold()
    if weights is None:
        groups = text.groupby(key.to_numpy()).agg(lambda x: x.value_counts().index.tolist())
    else:
        w = pd.Series(np.asarray(weights, float), index=s.index).loc[text.index]
        per = w.groupby([key.to_numpy(), text.to_numpy()]).sum()
        groups = pd.Series({k: per.loc[k].sort_values(ascending=False, kind="stable")
                            .index.tolist() for k in per.index.get_level_values(0).unique()},
                           dtype=object)
    clashes = groups[groups.map(len) > 1]
    for variants in clashes:
        rare = text.index[text.isin(variants[1:])]
        who = (f"patients {format_ids(rare)}" if weights is None else
               f"{w.loc[rare].sum():,.0f} patients (counted in the collapsed "
               "table, which keeps no patient ids)")
        warnings.warn(f"{table}: column {column!r} has levels that differ only in case or "
                      f"spaces: {', '.join(map(repr, variants))} (kept as separate levels); "
                      f"the rarer spellings are for {who}", DataWarning, stacklevel=4)


def default_reference(s: pd.Series, levels: list):
    """The documented default reference level of a factor column ``s``.

    A categorical's first category (``levels[0]``), else the most frequent value (ties
    broken by sort order of the values as text).
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        return levels[0]
    counts = s.value_counts()
    return sorted(counts[counts == counts.max()].index, key=str)[0]


def _order_levels(s: pd.Series, reference) -> list:
    if isinstance(s.dtype, pd.CategoricalDtype):
        levels = [c for c in s.cat.categories if (s == c).any()]
    else:
        levels = sorted(s.unique(), key=str)
    if reference is None:
        reference = default_reference(s, levels)
    if reference not in levels and str(reference) in map(str, levels):
        reference = next(lv for lv in levels if str(lv) == str(reference))
    if reference not in levels:
        raise DataError(f"reference level {reference!r} of column {s.name!r} is not among its "
                        f"levels: {', '.join(map(str, levels))}")
    return [reference] + [lv for lv in levels if lv != reference]


def check_roles(factors, numeric, reference: dict | None, table: str) -> dict:
    """Reference levels only for factors, no column both factor and covariate.

    Returns the reference levels as a dict. Raises ``DataError`` naming the columns.
    """
    reference = dict(reference or {})
    unknown = [c for c in reference if c not in factors]
    if unknown:
        raise DataError(f"reference levels given for columns that are not factors: {unknown}")
    overlap = set(factors) & set(numeric)
    if overlap:
        raise DataError(f"{table}: columns listed both as factors and covariates: "
                        f"{sorted(overlap)}")
    return reference


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
    reference = check_roles(factors, numeric, reference, table)
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
        near_duplicate_levels(s, column=col, table=table)
        if not isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(str) if not is_bool_dtype(s) else s.map({True: "yes", False: "no"})
        levels = _order_levels(s, reference.get(col))
        if len(levels) < 2:
            raise DataError(f"{table}: factor {col!r} has a single level ({levels[0]!r}) "
                            "among the patients analysed; it carries no information, remove it")
        out[col] = pd.Categorical(s, categories=levels)
    return out, dropped
