"""footdrop_bayes: Bayesian survival and recovery modelling of clinical cohorts."""

from . import datasets
from .cohort import Cohort
from .errors import ConvergenceError, ConvergenceWarning, DataError, DataWarning
from .model import RecoveryModel
from .simulate import simulate_cohort

__version__ = "0.1.0"

__all__ = [
    "Cohort",
    "ConvergenceError",
    "ConvergenceWarning",
    "DataError",
    "DataWarning",
    "RecoveryModel",
    "__version__",
    "datasets",
    "simulate_cohort",
]
