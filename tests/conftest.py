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
def analysis(fitted_model):
    """The whole analysis (classical and Bayesian summaries) of ``fitted_model``."""
    from footdrop_bayes.analysis import analyse
    from footdrop_bayes.datasets import STUDY_BANDS

    return analyse(fitted_model.cohort, model=fitted_model, bands=STUDY_BANDS,
                   say=lambda m: None)
