"""Convergence diagnostics of a fit, and the warning (or error) when they are missed.

Thresholds (Vehtari et al. 2021): no divergent transitions, rank-normalised split R-hat
below 1.01, bulk and tail effective sample sizes above 400; E-BFMI above 0.3.
"""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np

from ..errors import ConvergenceError, ConvergenceWarning

THRESHOLDS = {"max_rhat": 1.01, "min_ess_bulk": 400, "min_ess_tail": 400, "min_bfmi": 0.3}


def _free_vars(idata) -> list[str]:
    """Posterior variables that vary (constant deterministics, e.g. reference 0, excluded)."""
    post = idata.posterior
    return [v for v in post.data_vars
            if not v.startswith("log_hr_") and float(post[v].std()) > 0]


def compute_diagnostics(idata) -> dict:
    """Divergences, max R-hat, min bulk/tail ESS, min E-BFMI and whether all pass.

    Returns
    -------
    dict
        ``divergences`` (int), ``max_rhat``, ``min_ess_bulk``, ``min_ess_tail``,
        ``min_bfmi`` (floats), ``converged`` (bool) and ``failed`` (list of str, what was
        missed).
    """
    names = _free_vars(idata)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat = az.rhat(idata, var_names=names, method="rank")
        ess_b = az.ess(idata, var_names=names, method="bulk")
        ess_t = az.ess(idata, var_names=names, method="tail")

    def _ext(ds, fn):
        vals = np.concatenate([np.ravel(ds[v].values) for v in ds.data_vars]) if ds.data_vars \
            else np.array([np.nan])
        vals = vals[np.isfinite(vals)]
        return float(fn(vals)) if vals.size else float("nan")

    div = int(idata.sample_stats["diverging"].sum()) if "diverging" in idata.sample_stats \
        else 0
    try:
        bfmi = float(np.min(az.bfmi(idata)))
    except (KeyError, AttributeError, ValueError):
        bfmi = float("nan")
    out = {
        "divergences": div,
        "max_rhat": _ext(rhat, np.max),
        "min_ess_bulk": _ext(ess_b, np.min),
        "min_ess_tail": _ext(ess_t, np.min),
        "min_bfmi": bfmi,
    }
    failed = []
    if div > 0:
        failed.append(f"{div} divergent transitions")
    if not out["max_rhat"] < THRESHOLDS["max_rhat"]:
        failed.append(f"max R-hat {out['max_rhat']:.3f} >= {THRESHOLDS['max_rhat']}")
    for key, label in (("min_ess_bulk", "bulk"), ("min_ess_tail", "tail")):
        if not out[key] > THRESHOLDS[key]:
            failed.append(f"min {label} ESS {out[key]:.0f} <= {THRESHOLDS[key]}")
    if np.isfinite(bfmi) and bfmi < THRESHOLDS["min_bfmi"]:
        failed.append(f"min E-BFMI {bfmi:.2f} < {THRESHOLDS['min_bfmi']}")
    out["converged"] = not failed
    out["failed"] = failed
    return out


def advice(diag: dict) -> str:
    """What to try, given what was missed."""
    tips = []
    if diag["divergences"]:
        tips.append("raise sampler_config['target_accept'] (e.g. 0.95 or 0.99), or force "
                    "model_config['parameterization'] ('non-centred' for small cohorts, "
                    "'centred' for large ones)")
    if not diag["max_rhat"] < THRESHOLDS["max_rhat"] or not (
            diag["min_ess_bulk"] > 400 and diag["min_ess_tail"] > 400):
        tips.append("run more draws and tuning steps (sampler_config 'draws', 'tune') or "
                    "more chains")
    if np.isfinite(diag["min_bfmi"]) and diag["min_bfmi"] < THRESHOLDS["min_bfmi"]:
        tips.append("low E-BFMI suggests a poorly identified scale: consider tighter priors "
                    "on the scales in model_config")
    return "; ".join(tips)


def check_convergence(diag: dict, action: str = "warn") -> None:
    """Warn (``ConvergenceWarning``), raise (``ConvergenceError``) or do nothing."""
    if diag["converged"] or action == "ignore":
        return
    msg = ("the MCMC fit missed the convergence thresholds (" + "; ".join(diag["failed"])
           + "). Try: " + advice(diag) + ". Results may be unreliable.")
    if action == "raise":
        raise ConvergenceError(msg)
    warnings.warn(msg, ConvergenceWarning, stacklevel=3)
