"""Classical survival analysis of recovery: Kaplan–Meier, log-rank, Cox, the study table.

Built on lifelines (and scipy for contingency tests). Every function takes a
:class:`~footdrop_bayes.Cohort` and returns labelled data (DataFrames / xarray); plots
are drawn elsewhere.
"""

from .bands import Bands, band_covariates
from .checks import CollinearityWarning, FewEventsWarning, SeparationWarning
from .cox import CoxResult, cox
from .km import at_risk_table, kaplan_meier, median_recovery
from .logrank import adjust_p, logrank, logrank_trend, pairwise_logrank
from .study_table import contingency_test, study_table

__all__ = [
    "Bands",
    "CollinearityWarning",
    "CoxResult",
    "FewEventsWarning",
    "SeparationWarning",
    "adjust_p",
    "at_risk_table",
    "band_covariates",
    "contingency_test",
    "cox",
    "kaplan_meier",
    "logrank",
    "logrank_trend",
    "median_recovery",
    "pairwise_logrank",
    "study_table",
]
