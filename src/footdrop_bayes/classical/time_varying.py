"""The classical side of time-varying treatment: Cox with time-varying covariates, KM.

:func:`cox_time_varying` fits lifelines' ``CoxTimeVaryingFitter`` on the cohort's long
``(start, stop]`` rows (:meth:`~footdrop_bayes.Cohort.to_lifelines_long`). Its limits,
stated in its result:

- recovery is placed at the first visit that found it (no interval censoring: lifelines'
  time-varying fitter has none), so with monthly visits the times are heavily tied
  (Efron's method handles the ties);
- the covariate on the row ending at a recovery visit is the value recorded at an
  earlier visit (the same timing rule as the Bayesian model);
- like every time-varying hazard ratio, it is not a causal effect when treatment changed
  because the patient was not improving (confounding by indication).

:func:`km_by_baseline` gives Kaplan–Meier curves by the *baseline* value of a
time-varying column, labelled as such: patients are grouped by where they started, not
by what they received later.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import DataError

COX_TV_LIMITS = (
    "lifelines CoxTimeVaryingFitter on (start, stop] rows: recovery placed at the first "
    "visit that found it (no interval censoring, Efron ties); a time-varying hazard ratio "
    "is not causal when treatment changed because the patient was not improving")


def _dummies(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    parts = []
    for col in columns:
        s = df[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = list(s.cat.categories)
            parts += [pd.Series((s == lv).to_numpy(float), index=df.index,
                                name=f"{col}[{lv}]") for lv in cats[1:]]
        else:
            parts.append(s.astype(float).rename(col))
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=df.index)


def cox_time_varying(cohort, *, factors: Sequence[str] | None = None,
                     covariates: Sequence[str] | None = None,
                     penalizer: float = 0.0) -> pd.DataFrame:
    """Cox regression with the cohort's time-varying columns (lifelines).

    Parameters
    ----------
    cohort : Cohort
        With time-varying columns.
    factors, covariates : sequence of str, optional
        Static terms (default the cohort's).
    penalizer : float
        lifelines' ridge penalty (0: none).

    Returns
    -------
    DataFrame
        One row per term level: ``term``, ``level``, ``reference``, ``log_hr``, ``se``,
        ``hr``, ``hr_low``, ``hr_high`` (95%), ``p``; ``attrs["limits"]`` states the
        limits above, ``attrs["n_rows"]`` / ``["n_patients"]`` what was fitted.
    """
    from lifelines import CoxTimeVaryingFitter

    if not cohort.time_varying:
        raise DataError("the cohort has no time-varying columns (Cohort.from_visits(..., "
                        "time_varying=[...]))")
    factors = list(cohort.factors if factors is None else factors)
    covariates = list(cohort.numeric if covariates is None else covariates)
    long = cohort.to_lifelines_long(factors + covariates)
    terms = list(cohort.time_varying) + factors + covariates
    X = _dummies(long, terms)
    df = pd.concat([long[["patient", "start", "stop", "event"]], X], axis=1)
    ctv = CoxTimeVaryingFitter(penalizer=penalizer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctv.fit(df, id_col="patient", start_col="start", stop_col="stop", event_col="event")
    s = ctv.summary
    rows = []
    for col in X.columns:
        term, _, level = col.partition("[")
        level = level.rstrip("]")
        ref = (str(long[term].cat.categories[0])
               if isinstance(long[term].dtype, pd.CategoricalDtype) else np.nan)
        b, se = float(s.loc[col, "coef"]), float(s.loc[col, "se(coef)"])
        rows.append({"term": term, "level": level or np.nan, "reference": ref, "log_hr": b,
                     "se": se, "hr": np.exp(b), "hr_low": np.exp(b - 1.959964 * se),
                     "hr_high": np.exp(b + 1.959964 * se), "p": float(s.loc[col, "p"])})
    out = pd.DataFrame(rows)
    out.attrs.update(limits=COX_TV_LIMITS, n_rows=len(df),
                     n_patients=int(df["patient"].nunique()))
    return out


def km_by_baseline(cohort, name: str | None = None, **kwargs):
    """Kaplan–Meier curves by the baseline value of a time-varying column.

    Returns :func:`~footdrop_bayes.classical.km.kaplan_meier`'s Dataset with the group
    dim named ``"baseline <name>"`` and ``attrs["grouping"]`` saying so.
    """
    from .km import kaplan_meier

    name = name or (cohort.time_varying[0] if cohort.time_varying else None)
    if name is None or name not in cohort.covariates.columns:
        raise DataError(f"no baseline column {name!r} in the cohort")
    label = f"baseline {name}"
    as_factor = cohort._like(cohort.intervals,
                             cohort.covariates.assign(**{label: cohort.covariates[name]}),
                             cohort.factors + (label,), cohort.numeric)
    ds = kaplan_meier(as_factor, by=label, **kwargs)
    ds.attrs["grouping"] = (f"patients grouped by their baseline {name} (where they "
                            "started), not by what they received later")
    return ds
