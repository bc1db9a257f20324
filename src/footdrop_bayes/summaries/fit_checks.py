"""Refuse quietly-broken fits in model comparisons.

A comparison by PSIS-LOO is only as good as the fits it compares and the importance
sampling behind it. :func:`comparison_problems` lists, for each named fit, a failed
convergence check (its own :meth:`~footdrop_bayes.RecoveryModel.diagnostics`: divergences,
R-hat, ESS, E-BFMI) and the patients whose Pareto k exceeds :data:`PARETO_K_THRESHOLD`
(PSIS's leave-one-out estimate for them is unreliable; Vehtari et al. 2017, 2024);
:func:`warn_or_raise` turns them into one loud :class:`~footdrop_bayes.ConvergenceWarning`
naming the models and the patients, or a :class:`~footdrop_bayes.ConvergenceError` with
``strict=True``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np

from ..errors import ConvergenceError, ConvergenceWarning, format_ids

#: Pareto k above which PSIS-LOO of a patient is not trusted.
PARETO_K_THRESHOLD = 0.7


def fit_diagnostics(fit) -> dict | None:
    """The convergence diagnostics of a fitted model or an InferenceData (None if unknown).

    A :class:`~footdrop_bayes.RecoveryModel` gives its own :meth:`diagnostics`; an
    InferenceData with ``sample_stats`` is checked by
    :func:`~footdrop_bayes.model.diagnostics.compute_diagnostics`; one without sampler
    statistics cannot be checked (``None``).
    """
    if hasattr(fit, "diagnostics") and getattr(fit, "idata", None) is not None:
        return fit.diagnostics()
    groups = fit.groups() if hasattr(fit, "groups") else []
    if "posterior" in groups and "sample_stats" in groups:
        from ..model.diagnostics import compute_diagnostics

        return compute_diagnostics(fit)
    return None


def high_k_patients(pareto_k, patients=None) -> list:
    """Patients (ids) whose Pareto k exceeds the threshold (NaN/inf counted as high)."""
    k = np.asarray(pareto_k, float).ravel()
    if patients is None:
        patients = (pareto_k["patient"].values if hasattr(pareto_k, "coords")
                    and "patient" in getattr(pareto_k, "coords", {})
                    else np.arange(k.size))
    patients = np.asarray(patients)
    bad = ~(k <= PARETO_K_THRESHOLD)
    return [p.item() if hasattr(p, "item") else p for p in patients[bad]]


def comparison_problems(fits: dict, high_k: dict | None = None) -> list[str]:
    """What makes a comparison of ``fits`` unreliable, one sentence per problem.

    Parameters
    ----------
    fits : dict
        ``{label: fit}`` (RecoveryModel or InferenceData).
    high_k : dict, optional
        ``{label: patient ids with Pareto k > 0.7}``.
    """
    problems = []
    for label, fit in fits.items():
        d = fit_diagnostics(fit)
        if d is not None and not d.get("converged", True):
            problems.append(f"{label} failed its convergence diagnostics ("
                            + "; ".join(d.get("failed", [])) + ")")
        ids = list((high_k or {}).get(label) or [])
        if ids:
            problems.append(f"{label} has Pareto k > {PARETO_K_THRESHOLD} for "
                            f"{format_ids(ids)}")
    return problems


def warn_or_raise(problems: Iterable[str], what: str, *, strict: bool = False,
                  stacklevel: int = 3) -> None:
    """One :class:`ConvergenceWarning` (or :class:`ConvergenceError` if ``strict``)."""
    problems = list(problems)
    if not problems:
        return
    msg = (f"{what} rests on fits that are not reliable: " + "; ".join(problems)
           + ". Do not use the comparison as it stands: refit the failed models as their "
           "convergence warnings advise (model.diagnostics()), and for patients with high "
           "Pareto k check them or use K-fold cross-validation. strict=True makes this an "
           "error.")
    if strict:
        raise ConvergenceError(msg)
    warnings.warn(msg, ConvergenceWarning, stacklevel=stacklevel)
