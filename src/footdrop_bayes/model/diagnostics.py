"""Convergence diagnostics of a fit, and the warning (or error) when they are missed.

Thresholds (Vehtari et al. 2021): no divergent transitions, rank-normalised split R-hat
below 1.01, bulk and tail effective sample sizes above 400; E-BFMI above 0.3. Each is
also attributed to a parameter block (each factor, the factor scales, the group, the
covariates, the baseline: :mod:`.blocks`), and the advice follows from the block and the
settings in force.
"""

from __future__ import annotations

import contextlib
import json
import warnings

import arviz as az
import numpy as np

from ..errors import ConvergenceError, ConvergenceWarning
from .blocks import (
    THRESHOLDS,
    advice_list,
    block_diagnostics,
    divergence_culprit,
    format_rhat,
    recorded_settings,
    where,
)
from .blocks import records as _records

__all__ = ["THRESHOLDS", "advice", "block_diagnostics", "check_convergence",
           "compute_diagnostics", "format_rhat", "retry_sentence", "where"]


def _free_vars(idata) -> list[str]:
    """Posterior variables that vary (constant deterministics, e.g. reference 0, excluded)."""
    post = idata.posterior
    return [v for v in post.data_vars
            if not v.startswith("log_hr_") and float(post[v].std()) > 0]


@contextlib.contextmanager
def _numpy_variance():
    """ArviZ's R-hat and ESS with numpy's variance instead of its numba one.

    ArviZ jit-compiles its variance without a disk cache, 0.15 s in every process (the
    first diagnostics of a CLI fit), for no gain at these sizes; the numbers are the same
    (``tests/test_model_blocks.py``). The flag is restored afterwards.
    """
    from arviz.utils import Numba

    before = Numba.numba_flag
    Numba.numba_flag = False
    try:
        yield
    finally:
        Numba.numba_flag = before


def compute_diagnostics(idata) -> dict:
    """Divergences, max R-hat, min bulk/tail ESS, min E-BFMI, per block, and a verdict.

    Returns
    -------
    dict
        ``divergences`` (int), ``max_rhat``, ``min_ess_bulk``, ``min_ess_tail``,
        ``min_bfmi`` (floats), ``converged`` (bool), ``failed`` (list of str, what was
        missed), ``by_block`` (list of dicts, one per parameter block: the rows of
        :func:`block_diagnostics`, JSON-safe), ``culprit`` (the block the divergent draws
        single out, or ``None``), ``settings`` (the sampler settings and
        parameterisation in force, when the InferenceData records them; :func:`advice`
        never suggests what is already in force) and ``retry`` (``None``, or the first
        attempt's ``target_accept``, ``divergences``, ``block`` (where they concentrate),
        ``sampling_time`` and ``retried_at`` when the draws are those of a retry at a
        higher target_accept).
    """
    names = _free_vars(idata)
    with warnings.catch_warnings(), _numpy_variance():
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
    except (KeyError, AttributeError, ValueError, TypeError):
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
        failed.append(f"{div} divergent transition{'s' if div != 1 else ''}")
    if not out["max_rhat"] < THRESHOLDS["max_rhat"]:
        failed.append(f"max R-hat {format_rhat(out['max_rhat'])} >= {THRESHOLDS['max_rhat']}")
    for key, label in (("min_ess_bulk", "bulk"), ("min_ess_tail", "tail")):
        if not out[key] > THRESHOLDS[key]:
            failed.append(f"min {label} ESS {out[key]:.0f} <= {THRESHOLDS[key]}")
    if np.isfinite(bfmi) and bfmi < THRESHOLDS["min_bfmi"]:
        failed.append(f"min E-BFMI {bfmi:.2f} < {THRESHOLDS['min_bfmi']}")
    out["converged"] = not failed
    out["failed"] = failed
    table = block_diagnostics(idata, rhat=rhat, ess_bulk=ess_b, ess_tail=ess_t)
    out["by_block"] = _records(table)
    out["culprit"] = divergence_culprit(table)
    out["settings"] = recorded_settings(idata)
    first = idata.posterior.attrs.get("first_attempt")
    out["retry"] = json.loads(first) if first else None
    return out


def retry_sentence(diag: dict) -> str:
    """One sentence on a retry at a higher ``target_accept`` ("" without one)."""
    r = diag.get("retry")
    if not r:
        return ""
    where_ = f" (in block {r['block']!r})" if r.get("block") else ""
    return (f"The first sampling run at target_accept {r['target_accept']:g} had "
            f"{r['divergences']} divergent transition(s){where_}; the model was sampled "
            "again with "
            f"the same seed at {r['retried_at']:g} (sampler_config['retry_target_accept'];"
            f" CLI --retry-target-accept), and the results are from that run")


def advice(diag: dict) -> str:
    """What to try, given what was missed, in which block and with which settings.

    Every suggestion names the Python argument and the CLI option, applies to the
    situation (the block the divergences or the R-hat/ESS misses point at) and is never
    a setting already in force (``diag["settings"]``; without it the library defaults are
    assumed).
    """
    return "; ".join(advice_list(diag))
def check_convergence(diag: dict, action: str = "warn") -> None:
    """Warn (``ConvergenceWarning``), raise (``ConvergenceError``) or do nothing.

    The message says what was missed, where (:func:`where`: the block the divergences
    concentrate in, the parameters that miss R-hat / ESS) and what to try
    (:func:`advice`).
    """
    if diag["converged"] or action == "ignore":
        return
    located = where(diag)
    retried = retry_sentence(diag)
    msg = ("the MCMC fit missed the convergence thresholds (" + "; ".join(diag["failed"])
           + ")" + (f". {retried}" if retried else "")
           + (f". {located}" if located else "") + ". Try: " + advice(diag)
           + ". Results may be unreliable.")
    if action == "raise":
        raise ConvergenceError(msg)
    warnings.warn(msg, ConvergenceWarning, stacklevel=3)
