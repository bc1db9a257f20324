"""footdrop_bayes: Bayesian survival and recovery modelling of clinical cohorts."""

from . import classical, datasets, plots
from .classical import (
    Bands,
    band_covariates,
    cox,
    kaplan_meier,
    logrank,
    median_recovery,
    pairwise_logrank,
    study_table,
)
from .cohort import Cohort
from .errors import ConvergenceError, ConvergenceWarning, DataError, DataWarning
from .model import RecoveryModel
from .simulate import simulate_cohort
from .summaries import (
    export_table,
    factor_ranking,
    hazard_ratios,
    recovery_probabilities,
    withdrawal_sensitivity,
)

__version__ = "0.1.0"

__all__ = [
    "Bands",
    "Cohort",
    "ConvergenceError",
    "ConvergenceWarning",
    "DataError",
    "DataWarning",
    "RecoveryModel",
    "__version__",
    "band_covariates",
    "classical",
    "cox",
    "datasets",
    "export_table",
    "factor_ranking",
    "hazard_ratios",
    "kaplan_meier",
    "logrank",
    "median_recovery",
    "pairwise_logrank",
    "plots",
    "recovery_probabilities",
    "simulate_cohort",
    "study_table",
    "summaries",
    "withdrawal_sensitivity",
]
