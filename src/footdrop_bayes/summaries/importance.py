r"""Importance of prognostic factors on one scale, and their ranks.

Hazard ratios of a four-level factor, a binary factor and age per year are not
comparable. The **importance** of a term is the finite-population standard deviation,
across the cohort's patients, of the term's contribution to the linear predictor, in
every posterior draw (Gelman 2005):

.. math::

    s_f = \sqrt{\sum_l w_l \, (b_{f,l} - \bar b_f)^2}, \qquad
    w_l = n_l / n, \quad \bar b_f = \sum_l w_l b_{f,l}

for a factor with ``n_l`` of the ``n`` patients at level ``l``, and
:math:`s_c = |\beta_c| \, \mathrm{sd}(x_c)` (population SD, ``ddof=0``) for a numeric
covariate. The clinic intercepts of a multi-centre model (``u_<group>``) are a term like a
factor (``s_g`` with the clinics' patient shares as weights), labelled by the group
column. Per draw the terms are ranked (1 = most important); over the draws this gives
P(rank = 1), the expected rank and the full rank distribution.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from ._common import SAMPLE_DIMS, factor_levels, level_counts, model_data, summarise

RANKING_COLUMNS = ["term", "importance_median", "importance_low", "importance_high",
                   "p_rank1", "expected_rank"]


def importance_from_posterior(posterior: xr.Dataset, data: pd.DataFrame, *,
                              factors: Sequence[str] = (),
                              covariates: Sequence[str] = (),
                              group: str | None = None, weights=None) -> xr.DataArray:
    """Importance of each term in every posterior draw.

    Parameters
    ----------
    posterior : xarray.Dataset
        Posterior with ``b_<factor>`` (dims ``chain, draw, <factor>``) for each factor and
        ``beta`` (dims ``chain, draw, covariate``, per original unit) for the covariates.
    data : DataFrame
        The cohort's patients: one column per factor and covariate.
    factors, covariates : sequence of str
        Terms to compute, in order.
    group : str, optional
        Clinic / group column: its intercepts ``u_<group>`` (dims ``chain, draw,
        <group>``) enter as one more term, after the covariates.
    weights : array, optional
        Patients per row of ``data`` (a collapsed cohort); default one each.

    Returns
    -------
    xarray.DataArray
        Dims ``chain, draw, term``; coords ``term`` = factors, covariates, then the group.
    """
    factors, covariates = list(factors), list(covariates)
    if not factors and not covariates and not group:
        raise ValueError("no terms: give at least one factor or covariate")
    out = []
    for f in factors:
        levels = factor_levels(posterior, f)
        w = level_counts(data, f, levels, weights)
        if w.sum() != (len(data) if weights is None else np.sum(weights)):
            raise ValueError(f"factor {f!r}: patients at levels not in the posterior "
                             f"(levels {levels})")
        w = xr.DataArray(w / w.sum(), dims=[f], coords={f: posterior[f"b_{f}"][f].values})
        b = posterior[f"b_{f}"]
        mean = (w * b).sum(f)
        out.append(np.sqrt((w * (b - mean) ** 2).sum(f)))
    if covariates:
        x = data[covariates].astype(float)
        sd = xr.DataArray(x.std(ddof=0).to_numpy() if weights is None else np.sqrt(
            np.cov(x.to_numpy().T, fweights=np.rint(weights).astype(np.int64), ddof=0)
            .reshape(len(covariates), len(covariates)).diagonal()),
                          dims=["covariate"], coords={"covariate": covariates})
        beta = posterior["beta"].sel(covariate=covariates)
        imp = abs(beta) * sd
        out += [imp.sel(covariate=c, drop=True) for c in covariates]
    if group:
        out.append(_spread(posterior[f"u_{group}"], data, group, weights))
    terms = factors + covariates + ([group] if group else [])
    imp = xr.concat(out, dim=pd.Index(terms, name="term"), coords="minimal")
    return imp.transpose(*SAMPLE_DIMS, "term").rename("importance")


def _spread(effects: xr.DataArray, data: pd.DataFrame, dim: str,
            weights=None) -> xr.DataArray:
    """Patient-weighted SD over ``dim`` of per-level effects (dims ``chain, draw, dim``)."""
    levels = list(effects[dim].values)
    w = level_counts(data, dim, levels, weights)
    if w.sum() != (len(data) if weights is None else np.sum(weights)):
        raise ValueError(f"{dim!r}: patients at levels not in the posterior (levels {levels})")
    w = xr.DataArray(w / w.sum(), dims=[dim], coords={dim: effects[dim].values})
    mean = (w * effects).sum(dim)
    return np.sqrt((w * (effects - mean) ** 2).sum(dim))


def importance(model) -> xr.DataArray:
    """Importance of each of a fitted model's factors, covariates and group, per draw.

    Parameters
    ----------
    model : RecoveryModel
        A fitted model.

    Returns
    -------
    xarray.DataArray
        Dims ``chain, draw, term``; see :func:`importance_from_posterior`.
    """
    imp = importance_from_posterior(model.idata.posterior, model_data(model),
                                    factors=model.factors, covariates=model.covariates,
                                    group=getattr(model, "group", None),
                                    weights=getattr(model.data, "row_weight", None))
    if getattr(model, "smooth", None):   # issue 11: linear + wiggly part of smooth terms
        from .smooth import with_smooth_importance

        imp = with_smooth_importance(model, imp)
    return imp


def rank_draws(importance: xr.DataArray) -> xr.DataArray:
    """Rank of each term in every draw: 1 = the largest importance (ties by term order)."""
    axis = importance.get_axis_num("term")
    order = np.argsort(-importance.values, axis=axis, kind="stable")
    ranks = np.argsort(order, axis=axis, kind="stable") + 1
    return xr.DataArray(ranks, dims=importance.dims, coords=importance.coords,
                        name="rank")


def rank_distribution(importance: xr.DataArray) -> xr.DataArray:
    """Posterior probability of each term holding each rank.

    Returns
    -------
    xarray.DataArray
        Dims ``term, rank`` (rank 1 = most important); each row and column sums to 1.
    """
    ranks = rank_draws(importance)
    n_terms = importance.sizes["term"]
    rank_coord = np.arange(1, n_terms + 1)
    dims = [d for d in SAMPLE_DIMS if d in ranks.dims]
    probs = [(ranks == r).mean(dims) for r in rank_coord]
    out = xr.concat(probs, dim=pd.Index(rank_coord, name="rank"), coords="minimal")
    return out.transpose("term", "rank").rename("probability")


def ranking_table(importance: xr.DataArray, interval: float = 0.95) -> pd.DataFrame:
    """The factor-ranking table from importance draws.

    Returns
    -------
    DataFrame
        Columns ``term, importance_median, importance_low, importance_high, p_rank1,
        expected_rank``, one row per term, sorted by expected rank.
    """
    med, low, high = summarise(importance, interval)
    dist = rank_distribution(importance)
    expected = (dist * dist["rank"]).sum("rank")
    df = pd.DataFrame({
        "term": [str(t) for t in importance["term"].values],
        "importance_median": med.values,
        "importance_low": low.values,
        "importance_high": high.values,
        "p_rank1": dist.sel(rank=1).values,
        "expected_rank": expected.values,
    })
    df = df.sort_values(["expected_rank", "p_rank1"], ascending=[True, False], kind="stable")
    df = df.reset_index(drop=True)
    df.attrs["interval"] = float(interval)
    return df


def factor_ranking(model, interval: float = 0.95) -> pd.DataFrame:
    """Rank a fitted model's factors and covariates by importance.

    Parameters
    ----------
    model : RecoveryModel
        A fitted model.
    interval : float
        Mass of the equal-tailed credible interval (default 0.95).

    Returns
    -------
    DataFrame
        ``factor_ranking.csv``: columns ``term, importance_median, importance_low,
        importance_high, p_rank1, expected_rank``; one row per term, sorted by expected
        rank; ``p_rank1`` sums to 1. ``df.attrs["interval"]`` holds ``interval``.
    """
    return ranking_table(importance(model), interval)
