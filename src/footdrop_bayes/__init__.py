"""footdrop_bayes: Bayesian survival and recovery modelling of clinical cohorts."""

import importlib
from typing import TYPE_CHECKING

from .errors import ConvergenceError, ConvergenceWarning, DataError, DataWarning

#: public names loaded on first use (PEP 562), so that ``import footdrop_bayes`` and
#: ``footdrop-bayes --help`` do not import PyMC, ArviZ, lifelines or matplotlib
#: (tests/test_lazy_import.py). New public names go here, not into an eager import.
_LAZY = {
    "Bands": ".classical",
    "band_covariates": ".classical",
    "cox": ".classical",
    "kaplan_meier": ".classical",
    "logrank": ".classical",
    "median_recovery": ".classical",
    "pairwise_logrank": ".classical",
    "study_table": ".classical",
    "Cohort": ".cohort",
    "RecoveryModel": ".model",
    "simulate_cohort": ".simulate",
    "export_table": ".summaries",
    "factor_ranking": ".summaries",
    "hazard_ratios": ".summaries",
    "recovery_probabilities": ".summaries",
    "withdrawal_sensitivity": ".summaries",
    "TimeVaryingRecoveryModel": ".model.tv_model",
    "cox_time_varying": ".classical.time_varying",
    "regime_recovery": ".summaries.time_varying",
    "time_varying_hazard_ratios": ".summaries.time_varying",
    "plot_swimmer": ".plots.swimmer",
    "partial_effects": ".summaries",
    "recovery_at": ".summaries",
    "simulate_smooth_cohort": ".simulate_smooth",
}
_SUBMODULES = {"analysis", "classical", "cli", "cohort", "covariates", "datasets", "io",
               "model", "output", "plots", "report", "report_figures", "report_text",
               "simulate", "summaries", "validation", "simulate_smooth"}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)


if TYPE_CHECKING:  # the names as a type checker and an IDE see them
    from . import classical, datasets, plots, summaries
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
    from .model import RecoveryModel
    from .simulate import simulate_cohort
    from .simulate_smooth import simulate_smooth_cohort
    from .summaries import (
        export_table,
        factor_ranking,
        hazard_ratios,
        partial_effects,
        recovery_at,
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
    "partial_effects",
    "plots",
    "recovery_at",
    "recovery_probabilities",
    "simulate_cohort",
    "simulate_smooth_cohort",
    "study_table",
    "summaries",
    "withdrawal_sensitivity",
]
