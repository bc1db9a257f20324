r"""Exact leave-one-patient-out PSIS-LOO computed on the likelihood's weighted patterns.

Patients with the same covariates and the same interval ``(L, R]`` (a *pattern*) have the
same log-likelihood in every posterior draw, so Pareto-smoothed importance sampling
(Vehtari, Gelman & Gabry 2017) gives them the same leave-one-out term
:math:`\widehat{\mathrm{elpd}}_j` and the same Pareto :math:`\hat k_j`. PSIS is therefore
run once per distinct pattern :math:`j` with :math:`w_j` patients, and

.. math::

    \widehat{\mathrm{elpd}}_{\mathrm{loo}} = \sum_j w_j\, \widehat{\mathrm{elpd}}_j,
    \qquad
    \mathrm{SE} = \sqrt{n \sum_j \tfrac{w_j}{n}
        \bigl(\widehat{\mathrm{elpd}}_j - \widehat{\mathrm{elpd}}_{\mathrm{loo}}/n\bigr)^2},

the per-patient sums of :func:`arviz.loo` (population variance, as ArviZ) without ever
forming the patients x draws matrix. The log-likelihood is evaluated from the posterior in
blocks of patterns (all draws of a block at once, as PSIS needs), so memory stays bounded
by :data:`MAX_BLOCK` values whatever the number of patterns.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

#: Largest number of (pattern x sample) log-likelihood values evaluated at once.
MAX_BLOCK = 4_000_000


def relative_eff(posterior: xr.Dataset) -> float:
    """Relative efficiency of the draws, exactly as :func:`arviz.loo` computes it."""
    import arviz as az

    n_chains = posterior.sizes["chain"]
    if n_chains == 1:
        return 1.0
    n_samples = n_chains * posterior.sizes["draw"]
    ess_p = az.ess(posterior, method="mean")
    return float(np.hstack([ess_p[v].values.flatten() for v in ess_p.data_vars]).mean()
                 / n_samples)


def _logsumexp(x: np.ndarray, axis: int = -1) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.log(np.sum(np.exp(x - m), axis=axis)) + np.squeeze(m, axis)


def pattern_pointwise(loglik_block, n_patterns: int, n_samples: int, reff: float, *,
                      max_block: int | None = None) -> dict:
    """PSIS-LOO terms of every pattern, evaluated block by block.

    Parameters
    ----------
    loglik_block : callable
        ``loglik_block(idx)`` returns the log-likelihood of patterns ``idx`` in every
        sample, shape ``(len(idx), n_samples)`` with samples ordered chain-major (as
        ``stack(__sample__=("chain", "draw"))``).
    n_patterns, n_samples : int
    reff : float
        Relative efficiency (:func:`relative_eff`).

    Returns
    -------
    dict of ndarray, each of length ``n_patterns``
        ``loo_i`` (leave-one-out log predictive density), ``lppd_i`` (log pointwise
        predictive density) and ``pareto_k``.
    """
    from arviz import psislw

    step = max(1, (max_block or MAX_BLOCK) // max(1, n_samples))
    out = {k: np.empty(n_patterns) for k in ("loo_i", "lppd_i", "pareto_k")}
    for start in range(0, n_patterns, step):
        idx = np.arange(start, min(n_patterns, start + step))
        ll = np.asarray(loglik_block(idx), float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lw, k = psislw(-ll, reff)
        out["loo_i"][idx] = _logsumexp(lw + ll)
        out["lppd_i"][idx] = _logsumexp(ll) - np.log(n_samples)
        out["pareto_k"][idx] = k
    return out


def weighted_elpd(loo_i: np.ndarray, lppd_i: np.ndarray, weights: np.ndarray) -> dict:
    """ELPD, its SE and p_loo of patients given per-pattern terms and pattern sizes."""
    w = np.asarray(weights, float)
    n = float(w.sum())
    elpd = float(np.sum(w * loo_i))
    mean = elpd / n if n else 0.0
    var = float(np.sum(w * (loo_i - mean) ** 2) / n) if n else 0.0
    return {"elpd_loo": elpd, "se": float(np.sqrt(n * var)),
            "p_loo": float(np.sum(w * lppd_i)) - elpd, "n_data_points": round(n)}


def good_k(n_samples: int) -> float:
    """ArviZ's threshold on Pareto k for ``n_samples`` draws."""
    return min(1 - 1 / np.log10(n_samples), 0.7)


def elpd_data(values: dict, n_samples: int, *, pointwise: dict | None = None):
    """An :class:`arviz.ELPDData` like :func:`arviz.loo` returns.

    ``values`` holds ``elpd_loo, se, p_loo, n_data_points`` and ``warning`` (some Pareto
    k above :func:`good_k`, warned about as ArviZ does); ``pointwise`` (optional) holds
    per-patient ``loo_i`` and ``pareto_k`` DataArrays, with which the result can be given
    to :func:`arviz.compare`.
    """
    from arviz.stats.stats_utils import ELPDData

    gk = good_k(n_samples)
    warn = bool(values["warning"])
    if warn:
        warnings.warn(
            f"Estimated shape parameter of Pareto distribution is greater than {gk:.2f} "
            "for one or more samples. You should consider using a more robust model, this is "
            "because importance sampling is less likely to work well if the marginal posterior "
            "and LOO posterior are very different. This is more likely to happen with a "
            "non-robust model and highly influential observations.", UserWarning,
            stacklevel=3)
    data = [values["elpd_loo"], values["se"], values["p_loo"], n_samples,
            values["n_data_points"], warn]
    index = ["elpd_loo", "se", "p_loo", "n_samples", "n_data_points", "warning"]
    if pointwise is not None:
        data += [pointwise["loo_i"], pointwise["pareto_k"]]
        index += ["loo_i", "pareto_k"]
    return ELPDData(data=data + [values.get("scale", "log"), gk],
                    index=index + ["scale", "good_k"])
