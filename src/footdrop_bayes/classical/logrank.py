r"""Log-rank tests of recovery between the levels of a factor (on lifelines).

- :func:`logrank`: the k-sample log-rank test per factor (lifelines
  ``multivariate_logrank_test``; identical to ``logrank_test`` for two levels);
- :func:`pairwise_logrank`: every pair of levels (lifelines ``logrank_test``) with a
  multiplicity correction (Holm by default);
- :func:`logrank_trend`: the log-rank test for trend across ordered levels with scores
  :math:`w_j` — lifelines has no trend test, so it is computed from lifelines' grouped
  event table:

  .. math::

     U = \sum_j w_j (O_j - E_j), \qquad
     V = \sum_t \frac{d_t (n_t - d_t)}{n_t - 1}
         \Big[\sum_j w_j^2 \frac{n_{jt}}{n_t} - \Big(\sum_j w_j \frac{n_{jt}}{n_t}\Big)^2\Big],

  :math:`U^2 / V \sim \chi^2_1` (Collett, *Modelling Survival Data in Medical Research*,
  §2.6). It equals the score test of a Cox model with the score as a single covariate
  (Breslow ties) and, with two levels, the ordinary log-rank test.

Times and censoring as in :mod:`footdrop_bayes.classical.km` (withdrawn patients censored
at their last unrecovered visit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from lifelines.statistics import logrank_test, multivariate_logrank_test
from lifelines.utils import group_survival_table_from_events
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

CORRECTIONS = ("holm", "bonferroni", "fdr_bh", "none")


def logrank(cohort: Cohort, factors: str | Sequence[str] | None = None, *,
            weightings: str | None = None, bands: Mapping | None = None) -> pd.DataFrame:
    """k-sample log-rank test of recovery across the levels of each factor.

    Parameters
    ----------
    cohort : Cohort
        The cohort.
    factors : str or sequence of str, optional
        Factor(s) to test; default every factor of the cohort (after banding).
    weightings : str, optional
        lifelines' weighted variants (``"wilcoxon"``, ``"tarone-ware"``, ``"peto"``);
        default the unweighted log-rank test.
    bands : mapping, optional
        Band specifications for numeric covariates (see :func:`band_covariates`); banded
        covariates are tested when ``factors`` is None.

    Returns
    -------
    DataFrame
        Indexed by ``factor``: ``n_levels``, ``statistic`` (chi-square), ``df``,
        ``p_value``, ``test``, and for ordered factors (bands) the trend test
        ``trend_statistic``, ``trend_p_value`` (NaN for unordered factors).
    """
    cohort = prepare(cohort, bands)
    t, e = durations(cohort)
    rows = {}
    for f in factor_list(cohort, factors):
        g = factor_series(cohort, f)
        tt, ee, gg, w = collapse(t, e, g.cat.codes.to_numpy(),
                                  weights=row_weights(cohort))
        res = multivariate_logrank_test(tt, gg, ee.astype(int), weights=w,
                                        weightings=weightings)
        row = {"n_levels": len(g.cat.categories), "statistic": float(res.test_statistic),
               "df": int(res.degrees_of_freedom), "p_value": float(res.p_value),
               "test": res.test_name.replace("_", " ").replace("multivariate ", "")}
        row["trend_statistic"] = row["trend_p_value"] = np.nan
        if g.cat.ordered and len(g.cat.categories) > 2:
            tr = logrank_trend(cohort, f)
            row["trend_statistic"], row["trend_p_value"] = tr["statistic"], tr["p_value"]
        rows[f] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "factor"
    return out


def adjust_p(p: Sequence[float], method: str = "holm") -> np.ndarray:
    """Multiplicity-adjusted p-values: ``holm``, ``bonferroni``, ``fdr_bh`` or ``none``."""
    p = np.asarray(p, float)
    if method not in CORRECTIONS:
        raise DataError(f"unknown correction {method!r}; choose one of {CORRECTIONS}")
    m = len(p)
    if method == "none" or m == 0:
        return p.copy()
    if method == "bonferroni":
        return np.minimum(1.0, p * m)
    if method == "fdr_bh":
        return stats.false_discovery_control(p, method="bh")
    order = np.argsort(p)
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(1.0, adj)
    return out


def pairwise_logrank(cohort: Cohort, factor: str, *, correction: str = "holm",
                     weightings: str | None = None,
                     bands: Mapping | None = None) -> pd.DataFrame:
    """Log-rank test between every pair of levels of a factor.

    Parameters
    ----------
    correction : {"holm", "bonferroni", "fdr_bh", "none"}
        Multiplicity correction across the pairs: Holm's step-down (controls the
        family-wise error rate, uniformly more powerful than Bonferroni), Bonferroni, or
        Benjamini–Hochberg (false discovery rate).

    Returns
    -------
    DataFrame
        Indexed by ``(level_a, level_b)`` (pairs in the factor's level order): ``n_a``,
        ``n_b``, ``statistic``, ``p_value``, ``p_adjusted``; ``attrs["correction"]``.
    """
    cohort = prepare(cohort, bands)
    t, e = durations(cohort)
    g = factor_series(cohort, factor)
    rows = {}
    tt, ee, gg, w = collapse(t, e, g.cat.codes.to_numpy(),
                                  weights=row_weights(cohort))
    for a, b in combinations(g.cat.categories, 2):
        ca, cb = gg == g.cat.categories.get_loc(a), gg == g.cat.categories.get_loc(b)
        res = logrank_test(tt[ca], tt[cb], ee[ca].astype(int), ee[cb].astype(int),
                           weights_A=w[ca], weights_B=w[cb], weightings=weightings)
        rows[(a, b)] = {"n_a": int(w[ca].sum()), "n_b": int(w[cb].sum()),
                        "statistic": float(res.test_statistic), "p_value": float(res.p_value)}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index = pd.MultiIndex.from_tuples(out.index, names=["level_a", "level_b"])
    out["p_adjusted"] = adjust_p(out["p_value"].to_numpy(), correction)
    out.attrs["correction"] = correction
    out.attrs["factor"] = factor
    return out


def logrank_trend(cohort: Cohort, factor: str, scores: Mapping | None = None, *,
                  bands: Mapping | None = None) -> pd.Series:
    """Log-rank test for a trend in recovery across the ordered levels of a factor.

    Parameters
    ----------
    factor : str
        An ordered factor (e.g. a banded covariate) or any factor with ``scores``.
    scores : mapping of level to float, optional
        Score of each level; default 0, 1, 2, ... in the factor's (band) order. Required
        for unordered factors with more than two levels.

    Returns
    -------
    Series
        ``statistic`` (chi-square, 1 df), ``z`` (signed: positive when recovery is faster
        at higher scores), ``p_value``, ``observed_minus_expected`` (the score-weighted
        U) and ``variance``.
    """
    cohort = prepare(cohort, bands)
    t, e = durations(cohort)
    g = factor_series(cohort, factor)
    levels = list(g.cat.categories)
    if scores is None:
        if not g.cat.ordered and len(levels) > 2:
            raise DataError(f"factor {factor!r} is not ordered; give scores={{level: value}} "
                            "for a trend test, or band a numeric covariate")
        w = np.arange(len(levels), dtype=float)
    else:
        missing = [lv for lv in levels if lv not in scores]
        if missing:
            raise DataError(f"scores missing for levels {missing} of factor {factor!r}")
        w = np.array([float(scores[lv]) for lv in levels])
    tt, ee, codes, wts = collapse(t, e, g.cat.codes.to_numpy(),
                                  weights=row_weights(cohort))
    uniq, removed, observed, _ = group_survival_table_from_events(codes, tt, ee.astype(int),
                                                                  weights=wts)
    cols = [f"removed:{c}" for c in uniq]
    n_jt = removed[cols].sum(0).to_numpy() - removed[cols].cumsum(0).shift(1).fillna(0)
    n_jt = n_jt.to_numpy(float)
    d_jt = observed[[f"observed:{c}" for c in uniq]].to_numpy(float)
    wj = w[np.asarray(uniq, int)]
    n_t, d_t = n_jt.sum(1), d_jt.sum(1)
    keep = d_t > 0
    n_jt, d_jt, n_t, d_t = n_jt[keep], d_jt[keep], n_t[keep], d_t[keep]
    share = n_jt / n_t[:, None]
    u = float(((d_jt - share * d_t[:, None]) @ wj).sum())
    hyper = np.where(n_t > 1, d_t * (n_t - d_t) / np.maximum(n_t - 1, 1), 0.0)
    var = float((hyper * (share @ wj**2 - (share @ wj) ** 2)).sum())
    z = u / np.sqrt(var) if var > 0 else np.nan
    return pd.Series({"statistic": z**2, "z": z, "p_value": float(stats.chi2.sf(z**2, 1)),
                      "observed_minus_expected": u, "variance": var}, name=factor)
