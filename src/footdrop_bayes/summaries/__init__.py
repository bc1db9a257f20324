"""Summaries of a fitted RecoveryModel in words clinicians read.

- :mod:`.importance`: importance of every factor / covariate on one scale, ranks;
- :mod:`.hazard_ratios`: hazard ratios with intervals and P(HR > 1);
- :mod:`.gcomp`: recovery probabilities by level (g-computation), differences, median times;
- :mod:`.observed`: Kaplan–Meier values shown next to the model's;
- :mod:`.clinics`: clinic SD, median hazard ratio, each clinic against the average;
- :mod:`.compare`: leave-one-patient-out ELPD lost when a term is dropped (refits);
- :mod:`.export`: CSV / Markdown / LaTeX (booktabs) tables;
- :mod:`.withdrawal`: delta-adjusted withdrawal sensitivity and tipping points;
- :mod:`.smooth`: smooth terms' partial effects, hazard ratios between values, recovery
  at chosen values (g-computation), importance.
"""

from .clinics import (
    clinic_effects,
    clinic_effects_from_posterior,
    clinic_variation,
    clinic_variation_from_posterior,
    median_hazard_ratio,
)
from .compare import drop_term_comparison, elpd_difference
from .export import export_table, format_table, read_table, to_latex, to_markdown
from .gcomp import (
    level_recovery_draws,
    median_recovery_times,
    recovery_differences,
    recovery_probabilities,
)
from .hazard_ratios import hazard_ratios, hazard_ratios_from_posterior
from .importance import (
    factor_ranking,
    importance,
    importance_from_posterior,
    rank_distribution,
    rank_draws,
    ranking_table,
)
from .observed import km_recovery
from .smooth import (
    partial_effects,
    recovery_at,
    smooth_terms_table,
    value_hazard_ratios,
)
from .smooth_compare import smooth_comparison
from .withdrawal import (
    tipping_points,
    withdrawal_analysis,
    withdrawal_comparison,
    withdrawal_differences,
    withdrawal_sensitivity,
)

__all__ = [
    "clinic_effects",
    "clinic_effects_from_posterior",
    "clinic_variation",
    "clinic_variation_from_posterior",
    "drop_term_comparison",
    "elpd_difference",
    "export_table",
    "factor_ranking",
    "format_table",
    "hazard_ratios",
    "hazard_ratios_from_posterior",
    "importance",
    "importance_from_posterior",
    "km_recovery",
    "level_recovery_draws",
    "median_hazard_ratio",
    "median_recovery_times",
    "partial_effects",
    "rank_distribution",
    "rank_draws",
    "ranking_table",
    "read_table",
    "recovery_at",
    "recovery_differences",
    "recovery_probabilities",
    "smooth_comparison",
    "smooth_terms_table",
    "tipping_points",
    "to_latex",
    "to_markdown",
    "value_hazard_ratios",
    "withdrawal_analysis",
    "withdrawal_comparison",
    "withdrawal_differences",
    "withdrawal_sensitivity",
]
