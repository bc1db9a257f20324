"""Shared fixtures. Figures render headlessly; fitted models are shared per session."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import pytest

import footdrop_bayes as fb

warnings.filterwarnings("ignore", category=FutureWarning, module="arviz")


@pytest.fixture(scope="session")
def study_cohort():
    """The bundled synthetic 105-patient study cohort."""
    return fb.datasets.load_study_cohort()


@pytest.fixture(scope="session")
def study_tables():
    """The bundled cohort's raw (visits, patients) tables."""
    return fb.datasets.load_study_tables()


@pytest.fixture(scope="session")
def fitted_model():
    """A RecoveryModel of the bundled study cohort, fitted small (2 chains x 200 draws).

    Shared by model, summaries and plots tests; convergence thresholds are not checked
    (too few draws on purpose). Do not refit or mutate it in tests.
    """
    try:
        cohort = fb.datasets.load_study_cohort()
    except (AttributeError, FileNotFoundError):
        visits, patients, _ = fb.simulate_cohort(105, random_seed=11)
        cohort = fb.Cohort.from_visits(visits, patients, follow_up=6)
    model = fb.RecoveryModel(cohort, sampler_config={
        "chains": 2, "draws": 200, "tune": 200, "progressbar": False,
        "on_convergence_failure": "ignore"})
    return model.fit(random_seed=20240601)


@pytest.fixture(scope="session")
def multicentre_model():
    """A RecoveryModel with clinic intercepts: 300 simulated patients in 4 clinics.

    Factor ``cause``, covariate ``age``, group ``clinic``; fitted small (2 chains x 200
    draws, thresholds not checked). Shared by the clinic tests; do not refit or mutate it.
    """
    visits, patients, _ = fb.simulate_cohort(300, n_clinics=4, random_seed=13)
    cohort = fb.Cohort.from_visits(visits, patients, follow_up=6,
                                   factors=["cause", "clinic"], covariates=["age"])
    model = fb.RecoveryModel(cohort, group="clinic", sampler_config={
        "chains": 2, "draws": 200, "tune": 200, "progressbar": False,
        "on_convergence_failure": "ignore"})
    return model.fit(random_seed=20240602)


@pytest.fixture(scope="session")
def categorical_model():
    """A fitted model of a simulated categorical-only cohort with clinics (400 patients).

    Many patients share a pattern (covariates and interval), so pattern-based results
    (LOO, g-computation, curves) are checked against per-patient brute force on a cohort
    where collapsing actually happens. 2 chains x 150 draws; do not refit or mutate.
    """
    visits, patients, _ = fb.simulate_cohort(400, n_clinics=3, random_seed=5)
    cohort = fb.Cohort.from_visits(visits, patients, follow_up=6,
                                   factors=["cause", "sex", "clinic"], covariates=[])
    model = fb.RecoveryModel(cohort, group="clinic", sampler_config={
        "chains": 2, "draws": 150, "tune": 150, "progressbar": False,
        "on_convergence_failure": "ignore"})
    return model.fit(random_seed=3)


@pytest.fixture(scope="session")
def analysis(fitted_model):
    """The whole analysis (classical and Bayesian summaries) of ``fitted_model``."""
    from footdrop_bayes.analysis import analyse
    from footdrop_bayes.datasets import STUDY_BANDS

    return analyse(fitted_model.cohort, model=fitted_model, bands=STUDY_BANDS,
                   say=lambda m: None)


@pytest.fixture(scope="session")
def tv_model():
    """A model with a time-varying treatment: 400 simulated patients, random switching.

    True log hazard ratio of current surgery 0.7; factor ``sex``, covariate ``age``.
    2 chains x 200 draws (thresholds not checked); do not refit or mutate it.
    """
    visits, patients, truth = fb.simulate_cohort(400, switching="random", random_seed=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fb.DataWarning)
        cohort = fb.Cohort.from_visits(visits, patients, follow_up=6, factors=["sex"],
                                       covariates=["age"], time_varying=["treatment"])
    model = fb.RecoveryModel(cohort, sampler_config={
        "chains": 2, "draws": 200, "tune": 200, "progressbar": False,
        "on_convergence_failure": "ignore"})
    model.fit(random_seed=5)
    model.truth = truth
    return model


@pytest.fixture(scope="session")
def smooth_model():
    """A fitted model with two smooth terms (issue 11): 300 simulated patients whose age
    effect is an inverted U (optimum 40), ``smooth=["age", "delay"]``, factor ``cause``.

    2 chains x 120 draws (thresholds not checked); the one compiled structure the smooth
    tests add. Do not refit or mutate it.
    """
    from footdrop_bayes.simulate_smooth import inverted_u, simulate_smooth_cohort

    visits, patients, _ = simulate_smooth_cohort(
        300, curves={"age": inverted_u(40, 15, 1.0)}, random_seed=7)
    cohort = fb.Cohort.from_visits(visits, patients, follow_up=6, factors=["cause"],
                                   covariates=["age", "delay"])
    model = fb.RecoveryModel(cohort, smooth=["age", "delay"], sampler_config={
        "chains": 2, "draws": 120, "tune": 120, "progressbar": False,
        "on_convergence_failure": "ignore"})
    return model.fit(random_seed=11)
