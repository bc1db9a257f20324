"""Collapsed (weighted) cohorts: one row per distinct (covariate pattern, interval).

With categorical covariates the exact likelihood, Kaplan–Meier, log-rank and Table 1
depend on the patients only through the counts of distinct rows of (covariates,
``last_unrecovered``, ``first_recovered``, ``event``, ``withdrawn``,
``admin_censored``). A collapsed cohort holds those rows (index ``pattern``) and the
number of patients of each as ``cohort.weights``; ``Cohort.collapse()`` makes one from a
per-patient cohort, the Dask engine (:mod:`footdrop_bayes.cohort_dask`) builds one
without ever holding per-patient rows. Rows are in a canonical order (sorted by the
covariates, then the interval), so two collapsed cohorts of the same patients are equal
table for table.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype

from .errors import DataError, DataWarning

IV_KEYS = ["last_unrecovered", "first_recovered", "event", "withdrawn", "admin_censored"]


def collapse_rows(covariates: pd.DataFrame, intervals: pd.DataFrame,
                  weights=None) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Distinct (covariates, interval) rows with summed weights, in canonical order.

    Returns ``(intervals, covariates, weights)`` indexed by ``pattern`` (0, 1, ...);
    ``intervals`` has :data:`IV_KEYS` (``last_visit`` and ``n_visits`` vary within a
    pattern and are left out).
    """
    cols = list(covariates.columns)
    df = covariates.reset_index(drop=True).copy()
    iv = intervals[IV_KEYS].reset_index(drop=True)
    for c in IV_KEYS:
        df[f"_iv_{c}"] = iv[c].fillna(-1.0) if c == "first_recovered" else iv[c]
    df["_w"] = np.ones(len(df)) if weights is None else np.asarray(weights, float)
    keys = cols + [f"_iv_{c}" for c in IV_KEYS]
    sort_frame = pd.DataFrame({k: (df[k].cat.codes if isinstance(df[k].dtype,
                                                                  pd.CategoricalDtype)
                                   else df[k]) for k in keys})
    first = ~sort_frame.duplicated(keys)
    group = sort_frame.groupby(keys, sort=False).ngroup().to_numpy()
    w = np.bincount(group, weights=df["_w"].to_numpy(float))
    rows = df.loc[first.to_numpy()].copy()
    rows["_w"] = w[group[first.to_numpy()]]
    order = sort_frame.loc[first.to_numpy()].sort_values(keys, kind="stable").index
    rows = rows.loc[order].reset_index(drop=True)
    rows.index.name = "pattern"
    out_iv = pd.DataFrame({c: rows[f"_iv_{c}"] for c in IV_KEYS})
    out_iv["first_recovered"] = out_iv["first_recovered"].where(out_iv["event"].astype(bool))
    out_iv["event"] = out_iv["event"].astype(bool)
    out_iv["withdrawn"] = out_iv["withdrawn"].astype(bool)
    out_iv["admin_censored"] = out_iv["admin_censored"].astype(bool)
    out_iv["last_unrecovered"] = out_iv["last_unrecovered"].astype(float)
    out_iv["first_recovered"] = out_iv["first_recovered"].astype(float)
    out_iv["last_visit"] = np.where(out_iv["event"], np.nan, out_iv["last_unrecovered"])
    out_iv["n_visits"] = np.nan
    return out_iv, rows[cols], pd.Series(rows["_w"].to_numpy(float), index=rows.index,
                                         name="weight")


def type_patterns(patterns: pd.DataFrame, factors, numeric, *, table: str,
                  reference: dict | None = None) -> pd.DataFrame:
    """Typed covariates of a collapsed table (column ``weight`` = patients per row).

    The rules of :func:`footdrop_bayes.covariates.type_covariates` with each row counted
    ``weight`` times: the reference level is the given one, else a categorical's first
    category, else the level with most patients (ties by sort order). Missing and
    non-numeric values are checked before collapsing, where the patients can be named.
    """
    from .covariates import check_roles, near_duplicate_levels

    reference = check_roles(factors, numeric, reference, table)
    w = patterns["weight"].to_numpy(float)
    out = patterns[list(factors) + list(numeric)].copy()
    for col in numeric:
        out[col] = out[col].astype(float)
        if out[col].nunique() < 2:
            raise DataError(f"{table}: covariate {col!r} takes a single value "
                            f"({out[col].iloc[0]:g}); it carries no information, remove it")
    for col in factors:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            present = s.groupby(s, observed=True).size().index
            levels = [c for c in s.cat.categories if c in present]
            default = levels[0]
        else:
            if not is_bool_dtype(s):
                near_duplicate_levels(s, column=col, table=table, weights=w)
            s = s.map({True: "yes", False: "no"}) if is_bool_dtype(s) else s.astype(str)
            s = s.astype(object)
            levels = sorted(s.unique(), key=str)
            counts = pd.Series(w).groupby(s.to_numpy()).sum()
            default = sorted(counts[counts == counts.max()].index, key=str)[0]
        ref = reference.get(col, default)
        if ref not in levels and str(ref) in map(str, levels):
            ref = next(lv for lv in levels if str(lv) == str(ref))
        if ref not in levels:
            raise DataError(f"reference level {ref!r} of column {col!r} is not among its "
                            f"levels: {', '.join(map(str, levels))}")
        levels = [ref] + [lv for lv in levels if lv != ref]
        if len(levels) < 2:
            raise DataError(f"{table}: factor {col!r} has a single level ({levels[0]!r}) "
                            "among the patients analysed; it carries no information, remove it")
        out[col] = pd.Categorical(s, categories=levels)
    return out


def collapsed_cohort(cls, patterns: pd.DataFrame, *, factors, covariates, table: str,
                     reference, grid, follow_up, time_unit: str, excluded, notes, roles):
    """The collapsed ``cls`` (a :class:`~footdrop_bayes.Cohort`) of a Dask engine's
    pattern counts: typed covariates, one row per (covariates, interval), patients as
    weights; ``excluded`` is a list of (patient, reason)."""
    typed = type_patterns(patterns, factors, covariates, table=table, reference=reference)
    iv, cov, w = collapse_rows(typed, patterns[IV_KEYS], patterns["weight"])
    cohort = cls(iv, cov, factors=factors, numeric=covariates, grid=grid,
                 follow_up=follow_up, time_unit=time_unit,
                 excluded=pd.DataFrame(excluded, columns=["patient", "reason"]), weights=w)
    cohort.notes, cohort.roles = tuple(notes), roles
    return cohort


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """The quantile of ``x`` with frequency weights ``w``, as pandas' linear rule on the
    expanded sample (``x`` repeated ``w`` times)."""
    order = np.argsort(x, kind="stable")
    x, w = np.asarray(x, float)[order], np.asarray(w, float)[order]
    n = w.sum()
    pos = q * (n - 1)
    cum = np.cumsum(w)
    lo = np.searchsorted(cum, np.floor(pos) + 1)
    hi = np.searchsorted(cum, np.floor(pos) + 2)
    hi = min(hi, len(x) - 1)
    frac = pos - np.floor(pos)
    return float(x[lo] + frac * (x[hi] - x[lo]))


def weighted_table1(cohort) -> pd.DataFrame:
    """:meth:`Cohort.table1` of a collapsed cohort: the same numbers from the counts."""
    outcome = cohort.outcome()
    w = cohort.weights.to_numpy(float)
    groups = [("all", np.ones(len(w), bool))] + [
        (str(o), (outcome == o).to_numpy()) for o in outcome.cat.categories]
    rows = {("patients", ""): [f"{int(w[m].sum())}" for _, m in groups]}
    for col in cohort.factors:
        s = cohort.covariates[col]
        for lv in s.cat.categories:
            cells = []
            for _, m in groups:
                n, k = w[m].sum(), w[m & (s == lv).to_numpy()].sum()
                cells.append(f"{int(k)} ({100 * (k / n):.1f}%)" if n else "0")
            rows[(col, str(lv))] = cells
    for col in cohort.numeric:
        x = cohort.covariates[col].to_numpy(float)
        mean_sd, med = [], []
        for _, m in groups:
            n = w[m].sum()
            if n > 1:
                mu = np.average(x[m], weights=w[m])
                sd = np.sqrt(np.sum(w[m] * (x[m] - mu) ** 2) / (n - 1))
                mean_sd.append(f"{mu:.1f} ± {sd:.1f}")
            else:
                mean_sd.append("–")
            med.append(f"{weighted_quantile(x[m], w[m], .5):.1f} "
                       f"[{weighted_quantile(x[m], w[m], .25):.1f}, "
                       f"{weighted_quantile(x[m], w[m], .75):.1f}]" if n else "–")
        rows[(col, "mean ± SD")] = mean_sd
        rows[(col, "median [IQR]")] = med
    out = pd.DataFrame.from_dict(rows, orient="index", columns=[g for g, _ in groups])
    out.index = pd.MultiIndex.from_tuples(out.index, names=["characteristic", "level"])
    return out


def warn_collapsed(what: str) -> None:
    """Say that a per-patient view was asked of a collapsed cohort."""
    warnings.warn(f"{what} of a collapsed cohort: one row per pattern, with cohort.weights "
                  "patients each", DataWarning, stacklevel=3)
