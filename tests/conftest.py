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
