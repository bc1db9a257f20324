"""Simulated cohorts with known *non-linear* effects of numeric covariates.

:func:`simulate_smooth_cohort` is :func:`~footdrop_bayes.simulate_cohort`'s design (the
same patients, baseline hazard, monthly visits, missed visits and random withdrawal) with
the log hazard ratio of chosen numeric covariates given as functions, e.g. an inverted-U
effect of age with its optimum at 40. It is the truth behind the smooth terms'
validation (docs/validation_model.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from .simulate import (
    DEFAULT_BASELINE,
    SimulatedCohort,
    _merge_effects,
    _recovery_times,
    linear_predictor,
    observe_at_visits,
    simulate_patients,
)


def inverted_u(optimum: float = 40.0, width: float = 15.0,
               depth: float = 1.0) -> Callable[[np.ndarray], np.ndarray]:
    """``-depth * ((x - optimum) / width) ** 2``: an inverted U peaking at ``optimum``."""
    def curve(x):
        return -depth * ((np.asarray(x, float) - optimum) / width) ** 2
    return curve


def centred_curve(curve: Callable, x: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """``curve`` minus its value at the median of ``x``: the log hazard ratio against it."""
    ref = float(np.asarray(curve(np.array([np.median(np.asarray(x, float))]))).ravel()[0])
    return lambda v: np.asarray(curve(v), float) - ref


def simulate_smooth_cohort(n_patients: int, *, curves: Mapping[str, Callable],
                           effects: dict | None = None, follow_up: int = 6,
                           withdrawal_rate: float = 0.1, missed_visit_rate: float = 0.05,
                           random_seed: int | np.random.Generator | None = None
                           ) -> SimulatedCohort:
    """Simulate monthly visits with known curves for numeric covariates.

    Parameters
    ----------
    n_patients : int
    curves : mapping of str to callable
        Log hazard ratio of recovery as a function of the covariate (``"age"``,
        ``"delay"``), e.g. :func:`inverted_u`; replaces the covariate's linear effect.
    effects : dict, optional
        The other effects, as :func:`~footdrop_bayes.simulate_cohort` takes them.
    follow_up, withdrawal_rate, missed_visit_rate, random_seed
        As :func:`~footdrop_bayes.simulate_cohort`.

    Returns
    -------
    SimulatedCohort
        ``visits``, ``patients`` and ``truth`` (``curves`` as given, ``effects``).
    """
    rng = np.random.default_rng(random_seed)
    patients = simulate_patients(n_patients, random_seed=rng)
    unknown = [c for c in curves if c not in ("age", "delay")]
    if unknown:
        raise ValueError(f"curves for {unknown}: only 'age' and 'delay' are simulated")
    eff = _merge_effects(effects)
    for c in curves:
        eff[c] = 0.0
    eta = linear_predictor(patients, eff)
    for c, f in curves.items():
        eta = eta + np.asarray(f(patients[c].to_numpy(float)), float)
    base = list(DEFAULT_BASELINE[:follow_up])
    base += [DEFAULT_BASELINE[-1]] * (follow_up - len(base))
    t_rec = _recovery_times(rng, eta, np.asarray(base))
    rate = -np.log1p(-withdrawal_rate) / follow_up if withdrawal_rate > 0 else 0.0
    dropout = (rng.exponential(1 / rate, n_patients) if rate > 0
               else np.full(n_patients, np.inf))
    visits = observe_at_visits(rng, patients["patient_id"].to_numpy(), t_rec, dropout,
                               follow_up, missed_visit_rate)
    truth = {"curves": dict(curves), "effects": eff, "baseline_hazard": base,
             "follow_up": follow_up}
    return SimulatedCohort(visits, patients, truth)


def curve_check(model, term: str, curve: Callable, *, n: int = 60,
                interval: float = 0.95) -> dict:
    """How well a fitted smooth term recovers a known curve (simulation studies).

    Both the fit's partial effect and ``curve`` are taken against the cohort median of
    ``term`` (:func:`centred_curve`), on ``n`` values spanning the data.

    Returns
    -------
    dict
        ``coverage`` (share of grid values whose credible band holds the truth),
        ``peak`` (value where the posterior median is highest), ``true_peak``,
        ``max_abs_error`` (of the posterior median) and ``band_width`` (mean width).
    """
    from .summaries.smooth import partial_effects

    pe = partial_effects(model, [term], n=n, interval=interval)
    x = pe["value"].to_numpy(float)
    truth = centred_curve(curve, model.cohort.covariates[term].to_numpy(float))(x)
    inside = (pe["log_hr_low"].to_numpy() <= truth) & (truth <= pe["log_hr_high"].to_numpy())
    med = pe["log_hr_median"].to_numpy()
    return {"coverage": float(inside.mean()), "peak": float(x[np.argmax(med)]),
            "true_peak": float(x[np.argmax(truth)]),
            "max_abs_error": float(np.max(np.abs(med - truth))),
            "band_width": float(np.mean(pe["log_hr_high"] - pe["log_hr_low"]))}
