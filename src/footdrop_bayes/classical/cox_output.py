"""Cox results as users read them: "not estimable" terms, lifelines' warnings restated.

A Cox coefficient has no finite maximum-likelihood estimate when a factor level has no
recoveries (or the reference level has none): the partial likelihood keeps rising as the
coefficient drifts to minus (plus) infinity, lifelines stops somewhere on the way and
prints a number such as "HR 12503466 (0 to inf)". Such a coefficient is **not estimable**
here when

- a level of a factor (the coefficient's own level or its reference) has no recoveries, or
- the estimate or an interval bound is not finite, or its standard error exceeds
  :data:`MAX_SE` on the log scale (an interval spanning more than a factor of 10⁸).

The CSV keeps lifelines' numbers with ``estimable = False`` beside them; the Markdown and
LaTeX tables, the report and the forest plot say "not estimable" instead.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

#: Standard error (log hazard ratio) above which a Cox coefficient is not estimable.
MAX_SE = 5.0


def not_estimable(summary: pd.DataFrame, cohort=None, events=None) -> pd.Series:
    """Which rows of a Cox summary are not estimable (True), with the rule above.

    Parameters
    ----------
    summary : DataFrame
        ``CoxResult.summary``: ``term, level, reference`` and lifelines' ``coef``,
        ``se(coef)``, ``exp(coef) lower/upper ...`` columns.
    cohort : Cohort, optional
        With ``events``, levels without recoveries are flagged.
    events : Series of bool, optional
        Recovery indicator per patient (cohort order).
    """
    if summary.empty:
        return pd.Series([], index=summary.index, dtype=bool)
    num = summary[[c for c in summary.columns
                   if c == "coef" or c == "se(coef)" or c.startswith("exp(coef)")]]
    bad = ~np.isfinite(num.to_numpy(float)).all(axis=1)
    bad |= summary["se(coef)"].to_numpy(float) > MAX_SE
    out = pd.Series(bad, index=summary.index)
    if cohort is not None and events is not None:
        e = np.asarray(events, bool)
        for name, r in summary.iterrows():
            if r["level"] == "" or r["term"] not in cohort.factors:
                continue
            s = cohort.covariates[r["term"]].astype(str).to_numpy()
            for lv in (r["level"], r["reference"]):
                if not e[s == str(lv)].any():
                    out[name] = True
    return out


def not_estimable_note(table: pd.DataFrame, flags) -> str:
    """One sentence naming the not-estimable coefficients (empty if none)."""
    flags = pd.Series(flags, index=table.index).astype(bool)
    if not flags.any():
        return ""
    names = [f"{r.term} {r.level} vs {r.reference}" if r.level else str(r.term)
             for r in table[flags.to_numpy()].itertuples()]
    return ("Not estimable: " + "; ".join(names) + ". The Cox partial likelihood has no "
            "finite maximum for these terms (typically a level, or its reference, with no "
            "recoveries); lifelines' numbers for them are meaningless and are not shown. "
            "The Bayesian model's partial pooling still gives them an estimate.")


def cox_output_table(result) -> pd.DataFrame:
    """``CoxResult.table`` with an ``estimable`` column (for the CSV and the tables)."""
    table = result.table.copy()
    flags = getattr(result, "not_estimable", None)
    table["estimable"] = ~table.index.isin(list(flags or []))
    table.attrs = dict(result.table.attrs)
    return table


_RESTATE = (
    (r"complete separation|norm\(delta\) is still high",
     "Cox model: lifelines' Newton-Raphson fit did not settle (complete separation or "
     "collinearity: some coefficients drift to infinity or are not unique); terms without "
     "a finite estimate are marked 'not estimable'"),
    (r"failed to converge",
     "Cox model: lifelines' Newton-Raphson fit did not converge; the Cox estimates are "
     "unreliable - prefer the Bayesian model"),
    (r"very low variance",
     "Cox model: a covariate is (nearly) constant, so its hazard ratio cannot be "
     "estimated from these data"),
)


def restate_lifelines(message: str) -> str:
    """lifelines' warning message in the library's words (the original if unknown)."""
    text = str(message)
    for pattern, said in _RESTATE:
        if re.search(pattern, text):
            extra = re.search(r"[Cc]olumn\(?s?\)? (.+?) ha(ve|s) very low variance", text)
            return said + (f" ({extra.group(1)})" if extra else "")
    first = text.strip().splitlines()[0] if text.strip() else text
    return f"Cox model (lifelines): {first}"


def empty_cox(reason: str):
    """A :class:`CoxResult` with no coefficients (no terms to fit, or the fit failed)."""
    from .cox import TABLE_COLUMNS, CoxResult

    table = pd.DataFrame(columns=TABLE_COLUMNS, index=pd.Index([], name="coefficient"))
    verdict = pd.DataFrame(columns=["p_value", "verdict"], index=pd.Index([], name="term"))
    lr = pd.Series({"statistic": np.nan, "df": 0, "p_value": np.nan},
                   name="likelihood_ratio")
    return CoxResult(table=table, summary=table.copy(), concordance=np.nan,
                     likelihood_ratio=lr, ph_test=pd.DataFrame(), ph_verdict=verdict,
                     n_patients=0, n_events=0, events_per_variable=np.nan,
                     warnings=[reason] if reason else [], fitter=None)
