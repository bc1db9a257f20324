r"""Model comparison as a second opinion on the ranking: drop one term, refit, compare.

For each term the model is refitted without it (same cohort, priors and sampler
settings) and both fits are scored by leave-one-patient-out cross-validation (PSIS-LOO,
one log-likelihood term per patient). With pointwise differences
:math:`d_i = \widehat{\mathrm{elpd}}_{i}^{\,\mathrm{full}} -
\widehat{\mathrm{elpd}}_{i}^{\,\mathrm{without}}`,

.. math::

    \Delta\widehat{\mathrm{elpd}} = \sum_i d_i, \qquad
    \mathrm{SE} = \sqrt{n \, \mathrm{Var}(d_i)}

(Vehtari, Gelman & Gabry 2017), with the sample variance as in R's ``loo`` (ArviZ's
``compare`` uses ``ddof=0``: smaller by a factor :math:`\sqrt{(n-1)/n}`). A positive
difference means the term improves out-of-sample prediction; differences within about
two SEs (or below ~4) are not distinguishable. Each refit is a full MCMC run: call this
explicitly, it is never part of a default summary.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import arviz as az
import numpy as np
import pandas as pd

COMPARE_COLUMNS = ["term", "elpd_full", "elpd_without", "elpd_diff", "se_diff",
                   "max_pareto_k"]


def _pointwise_loo(idata) -> tuple[np.ndarray, float]:
    """Pointwise LOO ELPD and the largest Pareto k among informative patients.

    A patient whose log-likelihood is the same in every draw (e.g. withdrawn at referral:
    log-likelihood 0) has an undefined Pareto k (ArviZ reports ``inf``) but an exact LOO
    term; such patients are left out of ``max_pareto_k``.
    """
    ll = getattr(idata, "log_likelihood", None)
    var = "recovery" if ll is not None and "recovery" in ll else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        loo = az.loo(idata, pointwise=True, var_name=var)
    k = np.asarray(loo.pareto_k).ravel()
    lik = ll[var] if var is not None else next(iter(ll.data_vars.values()))
    informative = np.asarray(lik.std(("chain", "draw"))).ravel() > 0
    max_k = float(np.max(k[informative])) if informative.any() else float("nan")
    return np.asarray(loo.loo_i).ravel(), max_k


def elpd_difference(idata_a, idata_b) -> dict:
    """Paired leave-one-patient-out ELPD difference ``a - b`` and its standard error."""
    a, ka = _pointwise_loo(idata_a)
    b, kb = _pointwise_loo(idata_b)
    if a.shape != b.shape:
        raise ValueError("the two fits have different numbers of patients "
                         f"({a.size} and {b.size})")
    d = a - b
    return {"elpd_a": float(a.sum()), "elpd_b": float(b.sum()), "elpd_diff": float(d.sum()),
            "se_diff": float(np.sqrt(d.size * np.var(d, ddof=1))),
            "max_pareto_k": max(ka, kb)}


def drop_term_comparison(model, terms: Sequence[str] | None = None, *,
                         random_seed: int | None = None, sampler_config: dict | None = None,
                         model_class=None) -> pd.DataFrame:
    """Leave-one-patient-out ELPD lost when each term is dropped from the model.

    Parameters
    ----------
    model : RecoveryModel
        A fitted model (the full model).
    terms : sequence of str, optional
        Factors / covariates to drop one at a time (default all).
    random_seed : int, optional
        Seed of the refits (each refit gets ``random_seed + k``).
    sampler_config : dict, optional
        Sampler settings of the refits, merged over the full model's.
    model_class : type, optional
        Class used for the refits (default ``type(model)``).

    Returns
    -------
    DataFrame
        Columns ``term, elpd_full, elpd_without, elpd_diff, se_diff, max_pareto_k``,
        sorted by ``elpd_diff`` (largest loss first). ``max_pareto_k`` above 0.7 flags an
        unreliable PSIS estimate.
    """
    factors, covariates = list(model.factors), list(model.covariates)
    terms = factors + covariates if terms is None else list(terms)
    bad = [t for t in terms if t not in factors + covariates]
    if bad:
        raise ValueError(f"{bad} are not terms of the model ({factors + covariates})")
    cls = model_class or type(model)
    sconf = dict(getattr(model, "sampler_config", None) or {}) | dict(sampler_config or {})
    mconf = getattr(model, "model_config", None)
    rows = []
    for k, term in enumerate(terms):
        reduced = cls(model.cohort, factors=[f for f in factors if f != term],
                      covariates=[c for c in covariates if c != term],
                      group=getattr(model, "group", None), model_config=mconf,
                      sampler_config=sconf)
        seed = None if random_seed is None else random_seed + k
        reduced.fit(random_seed=seed)
        res = elpd_difference(model.idata, reduced.idata)
        rows.append({"term": term, "elpd_full": res["elpd_a"], "elpd_without": res["elpd_b"],
                     "elpd_diff": res["elpd_diff"], "se_diff": res["se_diff"],
                     "max_pareto_k": res["max_pareto_k"]})
    df = pd.DataFrame(rows, columns=COMPARE_COLUMNS)
    return df.sort_values("elpd_diff", ascending=False, kind="stable").reset_index(drop=True)
