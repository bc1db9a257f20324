"""The study's own table, computed two ways: withdrawn patients excluded, and kept.

The original study reported, for each level of each factor, the percentage of patients
recovered by the end of follow-up among those who completed it — patients who withdrew
were *excluded* — with a chi-square (or Fisher exact) p-value. Excluding withdrawn
patients biases the percentages whenever withdrawal depends on the course of recovery
(a patient who leaves unrecovered at month 2 had, by then, a worse outlook than average;
dropping them inflates the recovery rate of the group they left).

:func:`study_table` puts that computation next to the censoring-aware one: the
Kaplan–Meier probability of recovery by the same time, 1 − S(t), with withdrawn patients
kept and censored at their last unrecovered visit, and the log-rank p-value.

Contingency test (withdrawn excluded), per factor on the levels x (recovered, not
recovered) table:

- all expected counts ≥ 5: Pearson's chi-square test without continuity correction
  (``scipy.stats.chi2_contingency(correction=False)``);
- some expected count < 5, 2 levels: Fisher's exact test (two-sided);
- some expected count < 5, more levels: the Fisher–Freeman–Halton exact test, its p-value
  estimated by Monte Carlo over tables with the observed margins
  (``scipy.stats.fisher_exact`` with ``MonteCarloMethod``; ``n_resamples`` tables,
  seeded by ``random_seed`` — Monte Carlo standard error ≈ sqrt(p(1 − p)/n_resamples));
- nobody or everybody recovered: not testable (p is NaN).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from lifelines.statistics import multivariate_logrank_test
from scipy import stats

from ..cohort import Cohort
from ..errors import DataError
from ._common import (
    collapse,
    durations,
    factor_list,
    factor_series,
    prepare,
    row_weights,
)
from .km import fit_km

COLUMNS = ["n", "withdrawn", "analysed", "recovered", "percent_excluding_withdrawn",
           "p_excluding_withdrawn", "test_excluding_withdrawn", "percent_km",
           "percent_km_low", "percent_km_high", "p_logrank"]


def contingency_test(table: np.ndarray, *, n_resamples: int = 100_000,
                     random_seed: int | np.random.Generator | None = 0) -> tuple[float, str]:
    """p-value and name of the test for a levels x (recovered, not recovered) table.

    See the module docstring for the rule. Rows with no patients are ignored.
    """
    table = np.asarray(table, dtype=np.int64)
    table = table[table.sum(axis=1) > 0]
    if table.shape[0] < 2 or (table.sum(axis=0) == 0).any():
        return np.nan, "not testable"
    expected = stats.contingency.expected_freq(table)
    if expected.min() >= 5:
        res = stats.chi2_contingency(table, correction=False)
        return float(res.pvalue), "chi-square"
    if table.shape == (2, 2):
        return float(stats.fisher_exact(table).pvalue), "Fisher exact"
    method = stats.MonteCarloMethod(n_resamples=n_resamples,
                                    rng=np.random.default_rng(random_seed))
    return (float(stats.fisher_exact(table, method=method).pvalue),
            "Fisher-Freeman-Halton (Monte Carlo)")


def study_table(cohort: Cohort, factors: str | Sequence[str] | None = None, *,
                bands: Mapping | None = None, at: float | None = None, alpha: float = 0.05,
                ci: str = "log-log", n_resamples: int = 100_000,
                random_seed: int | np.random.Generator | None = 0) -> pd.DataFrame:
    """Recovery by the end of follow-up per level of each factor, computed two ways.

    Parameters
    ----------
    cohort : Cohort
        The cohort.
    factors : str or sequence of str, optional
        Factors to tabulate; default every factor (and every banded covariate).
    bands : mapping, optional
        Band specifications for numeric covariates, e.g.
        ``{"age": Bands([40, 60], ["<40", "40–59", "≥60"])}``.
    at : float, optional
        The time of the table; default the planned end of follow-up.
    alpha, ci
        Level and construction of the Kaplan–Meier interval (see
        :func:`kaplan_meier`).
    n_resamples, random_seed
        Monte Carlo settings of the Fisher–Freeman–Halton test (used only for tables
        larger than 2x2 with small expected counts).

    Returns
    -------
    DataFrame
        Indexed by ``(factor, level)``, first row ``("overall", "all")``. Columns:

        - ``n``: patients; ``withdrawn``: not seen recovered and lost before ``at``;
        - the study's way: ``analysed`` (= n − withdrawn), ``recovered`` (by ``at``),
          ``percent_excluding_withdrawn`` (100 · recovered / analysed),
          ``p_excluding_withdrawn`` and ``test_excluding_withdrawn`` (which test; the
          p-value of the factor, repeated on each of its rows);
        - censoring-aware: ``percent_km`` (100 · (1 − S(at)), withdrawn censored),
          ``percent_km_low``, ``percent_km_high`` and ``p_logrank`` (log-rank test up to
          ``at``).
    """
    cohort = prepare(cohort, bands)
    at = cohort.follow_up if at is None else float(at)
    if not 0 < at <= cohort.follow_up:
        raise DataError(f"at must lie in (0, follow-up = {cohort.follow_up:g}], got {at!r}")
    t, e = (x.to_numpy() for x in durations(cohort))
    iv = cohort.intervals
    rec = (iv["event"] & (iv["first_recovered"] <= at)).to_numpy()
    lost = (~rec & (iv["last_unrecovered"] < at)).to_numpy()
    grid = np.union1d(cohort.grid, [at])

    wt = row_weights(cohort)     # patients per row (a collapsed cohort), else ones

    def row(m: np.ndarray) -> dict:
        km = fit_km(t[m], e[m], grid, alpha, ci, weights=wt[m]).loc[at]
        n, n_lost, n_rec = (int(np.rint(wt[x].sum())) for x in (m, m & lost, m & rec))
        analysed = n - n_lost
        return {"n": n, "withdrawn": n_lost, "analysed": analysed,
                "recovered": n_rec,
                "percent_excluding_withdrawn": (100 * n_rec / analysed if analysed
                                                else np.nan),
                "percent_km": 100 * (1 - km["survival"]),
                "percent_km_low": 100 * (1 - km["survival_high"]),
                "percent_km_high": 100 * (1 - km["survival_low"])}

    rows = {("overall", "all"): row(np.ones(len(t), bool)) | {
        "p_excluding_withdrawn": np.nan, "test_excluding_withdrawn": "", "p_logrank": np.nan}}
    for f in factor_list(cohort, factors):
        g = factor_series(cohort, f)
        masks = [(lv, (g == lv).to_numpy()) for lv in g.cat.categories]
        kept = ~lost
        table = np.array([[int(np.rint(wt[rec & m].sum())),
                           int(np.rint(wt[~rec & kept & m].sum()))] for _, m in masks])
        p, test = contingency_test(table, n_resamples=n_resamples, random_seed=random_seed)
        tt, ee, gg, w = collapse(t, e, g.cat.codes.to_numpy(),
                                  weights=row_weights(cohort))
        lr = multivariate_logrank_test(tt, gg, ee.astype(int), weights=w,
                                       t_0=at if at < cohort.follow_up else -1)
        for lv, m in masks:
            rows[(f, lv)] = row(m) | {"p_excluding_withdrawn": p,
                                      "test_excluding_withdrawn": test,
                                      "p_logrank": float(lr.p_value)}
    out = pd.DataFrame.from_dict(rows, orient="index")[COLUMNS]
    out.index = pd.MultiIndex.from_tuples(out.index, names=["factor", "level"])
    out.attrs.update(at=at, alpha=alpha, ci=ci, time_unit=cohort.time_unit)
    return out
