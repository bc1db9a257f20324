r"""Model comparison as a second opinion on the ranking: drop one term, refit, compare.

For each term the model is refitted without it (same cohort, priors and sampler
settings) and both fits are scored by leave-one-patient-out cross-validation (PSIS-LOO,
one log-likelihood term per patient, computed once per distinct pattern and weighted by
its patients), each by the model's own
:meth:`~footdrop_bayes.RecoveryModel.loo`: patients censored at time 0 (log-likelihood
exactly 0 under every model) are left out of PSIS and add exactly 0, so the ELPDs here
are the models' own ``loo().elpd_loo``. With pointwise differences
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

from .fit_checks import comparison_problems, high_k_patients, warn_or_raise

COMPARE_COLUMNS = ["term", "elpd_full", "elpd_without", "elpd_diff", "se_diff",
                   "max_pareto_k"]


def _loo_of(fit, **kwargs):
    """PSIS-LOO of a fitted model (its own :meth:`loo`) or of an InferenceData.

    Returns ``(result, patients, excluded)``: the :class:`arviz.ELPDData`, the ids of
    the patients it scores and the ids of those left out. A fitted ``RecoveryModel``
    computes it exactly on its likelihood's patterns (PSIS once per distinct pattern,
    weighted by its patients: no patients x draws matrix) and leaves out the patients
    censored at time 0 (log-likelihood identically 0, which adds exactly 0 to the ELPD
    but gives PSIS an infinite Pareto k); for a bare InferenceData
    the same rule is applied to its ``recovery`` log-likelihood (terms that are exactly 0
    in every draw), so both routes give the same numbers.
    """
    if hasattr(fit, "loo") and hasattr(fit, "idata"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            res = fit.loo(pointwise=True, **kwargs)
        excluded = np.asarray(res["excluded_patients"])
        return res, res.loo_i["patient"].values, excluded
    ll_group = getattr(fit, "log_likelihood", None)
    if ll_group is None:
        raise ValueError("need a fitted RecoveryModel or an InferenceData with a "
                         "log_likelihood group")
    var = "recovery" if "recovery" in ll_group else next(iter(ll_group.data_vars))
    ll = ll_group[var]
    dim = [d for d in ll.dims if d not in ("chain", "draw")]
    if len(dim) != 1:
        raise ValueError(f"log-likelihood {var!r} must have one dimension besides chain "
                         f"and draw (the patient), got {dim}")
    zero = np.asarray((ll == 0).all(("chain", "draw")))
    ids = ll[dim[0]].values
    idata = az.InferenceData(posterior=fit.posterior,
                             log_likelihood=ll.isel({dim[0]: ~zero}).to_dataset(name=var))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        res = az.loo(idata, pointwise=True, var_name=var, **kwargs)
    return res, ids[~zero], ids[zero]


def _pointwise_loo(fit) -> tuple[pd.Series, float]:
    """Pointwise LOO ELPD per patient (0 for those left out) and the largest Pareto k."""
    loo_i, max_k, _ = _pointwise_loo_k(fit)
    return loo_i, max_k


def _pointwise_loo_k(fit) -> tuple[pd.Series, float, list]:
    """As :func:`_pointwise_loo`, plus the patients with Pareto k > 0.7."""
    res, patients, excluded = _loo_of(fit)
    loo_i = pd.Series(np.asarray(res.loo_i).ravel(), index=patients)
    loo_i = pd.concat([loo_i, pd.Series(0.0, index=excluded)])
    k = np.asarray(res.pareto_k).ravel()
    return (loo_i, float(np.max(k)) if k.size else float("nan"),
            high_k_patients(k, patients))


def elpd_difference(fit_a, fit_b, *, strict: bool = False,
                    names: tuple[str, str] = ("fit_a", "fit_b")) -> dict:
    """Paired leave-one-patient-out ELPD difference ``a - b`` and its standard error.

    Parameters
    ----------
    fit_a, fit_b : RecoveryModel or arviz.InferenceData
        Fitted models of the same cohort (their own :meth:`RecoveryModel.loo` is used)
        or InferenceData with a per-patient ``recovery`` log-likelihood. Patients
        censored at time 0 contribute exactly 0 to both ELPDs and to the difference.

    strict : bool
        Raise :class:`~footdrop_bayes.ConvergenceError` instead of warning when a fit
        failed its diagnostics or has patients with Pareto k > 0.7.
    names : (str, str)
        How the two fits are named in that warning.

    Returns
    -------
    dict
        ``elpd_a``, ``elpd_b`` (each equal to the fit's own ``loo().elpd_loo``),
        ``elpd_diff``, ``se_diff`` (sample variance, ``ddof=1``), ``max_pareto_k`` and
        ``high_k_patients`` (``{name: ids}`` of patients with Pareto k > 0.7).

    Warns
    -----
    ConvergenceWarning
        When either fit failed its convergence diagnostics or has patients with Pareto
        k > 0.7 (:mod:`.fit_checks`), naming the fits and the patients.
    """
    res = _elpd_difference(fit_a, fit_b)
    high = res["high_k_patients"] = dict(zip(names, res.pop("_high"), strict=True))
    warn_or_raise(comparison_problems(dict(zip(names, (fit_a, fit_b), strict=True)), high),
                  "the ELPD difference", strict=strict)
    return res


def _elpd_difference(fit_a, fit_b) -> dict:
    a, ka, ha = _pointwise_loo_k(fit_a)
    b, kb, hb = _pointwise_loo_k(fit_b)
    if len(a) != len(b) or not a.index.sort_values().equals(b.index.sort_values()):
        raise ValueError("the two fits are not of the same patients "
                         f"({len(a)} and {len(b)} patients)")
    d = (a - b.reindex(a.index)).to_numpy()
    return {"elpd_a": float(a.sum()), "elpd_b": float(b.sum()), "elpd_diff": float(d.sum()),
            "se_diff": float(np.sqrt(d.size * np.var(d, ddof=1))),
            "max_pareto_k": max(ka, kb), "_high": (ha, hb)}


def drop_term_comparison(model, terms: Sequence[str] | None = None, *,
                         random_seed: int | None = None, sampler_config: dict | None = None,
                         model_class=None, strict: bool = False) -> pd.DataFrame:
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
    strict : bool
        Raise :class:`~footdrop_bayes.ConvergenceError` instead of warning when the full
        model or a refit failed its diagnostics or has patients with Pareto k > 0.7
        (checked before any refit for the full model, so a failed fit costs no refits).

    Returns
    -------
    DataFrame
        Columns ``term, elpd_full, elpd_without, elpd_diff, se_diff, max_pareto_k``,
        sorted by ``elpd_diff`` (largest loss first). ``max_pareto_k`` above 0.7 flags an
        unreliable PSIS estimate.

    Warns
    -----
    ConvergenceWarning
        Once, naming every failed fit ("full model", "model without <term>") and the
        patients with Pareto k > 0.7.
    """
    factors, covariates = list(model.factors), list(model.covariates)
    terms = factors + covariates if terms is None else list(terms)
    bad = [t for t in terms if t not in factors + covariates]
    if bad:
        raise ValueError(f"{bad} are not terms of the model ({factors + covariates})")
    _, _, full_high = _pointwise_loo_k(model)
    fits, high = {"full model": model}, {"full model": full_high}
    if strict:
        warn_or_raise(comparison_problems(fits, high), "the drop-term comparison",
                      strict=True)
    cls = model_class or type(model)
    sconf = dict(getattr(model, "sampler_config", None) or {}) | dict(sampler_config or {})
    mconf = getattr(model, "model_config", None)
    rows = []
    for k, term in enumerate(terms):
        reduced = cls(model.cohort, factors=[f for f in factors if f != term],
                      covariates=[c for c in covariates if c != term],
                      group=getattr(model, "group", None), model_config=mconf,
                      sampler_config=sconf,
                      **({"smooth": [t for t in model.smooth if t != term]}
                         if getattr(model, "smooth", None) else {}))
        seed = None if random_seed is None else random_seed + k
        reduced.fit(random_seed=seed)
        res = _elpd_difference(model, reduced)
        fits[f"model without {term}"] = reduced
        high[f"model without {term}"] = res["_high"][1]
        rows.append({"term": term, "elpd_full": res["elpd_a"], "elpd_without": res["elpd_b"],
                     "elpd_diff": res["elpd_diff"], "se_diff": res["se_diff"],
                     "max_pareto_k": res["max_pareto_k"]})
    warn_or_raise(comparison_problems(fits, high), "the drop-term comparison",
                  strict=strict)
    df = pd.DataFrame(rows, columns=COMPARE_COLUMNS)
    return df.sort_values("elpd_diff", ascending=False, kind="stable").reset_index(drop=True)
