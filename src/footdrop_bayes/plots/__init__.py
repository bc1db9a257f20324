"""Figures for papers and the analysis report.

Every ``plot_*`` function takes results (tables, xarray objects, a fitted model's
``idata``), draws on ``ax``/``axes`` when given (else a new figure of single- or
double-column width), never calls ``plt.show()`` and returns the
:class:`~matplotlib.figure.Figure`. All use one journal style (:mod:`.style`), switchable
per call (``style=False``) or globally (:func:`use_journal_style`); a level keeps its
colour in every figure. :func:`save_figure` writes PNG (300 dpi) and PDF (SVG on request).

- :mod:`.km`: Kaplan–Meier curves with the number-at-risk table;
- :mod:`.forest`: hazard ratios, Bayesian beside Cox;
- :mod:`.clinics`: caterpillar plot of clinics against the average clinic;
- :mod:`.ranking`: importance intervals with P(rank = 1), rank-probability heat map;
- :mod:`.curves`: posterior recovery curves over Kaplan–Meier steps;
- :mod:`.followup`: recovery by the end of follow-up, model / Kaplan–Meier / study-style;
- :mod:`.prior`: prior predictive recovery curves;
- :mod:`.diagnostics`: rank/trace and energy plots;
- :mod:`.withdrawal`: recovery and differences against the post-withdrawal delta;
- :mod:`.partial`: a smooth term's partial effect (band, median, rug, reference).
"""

from .clinics import plot_clinic_effects
from .curves import plot_posterior_recovery, plot_posterior_recovery_panels, subgroup_recovery_draws
from .diagnostics import plot_energy, plot_trace
from .followup import plot_recovery_at_followup
from .forest import plot_hazard_ratios
from .km import plot_kaplan_meier, plot_kaplan_meier_panels
from .partial import plot_partial_effect
from .prior import plot_prior_predictive, prior_curves
from .ranking import plot_factor_ranking, plot_rank_probabilities
from .style import (
    JOURNAL_RC,
    OKABE_ITO,
    WIDTHS,
    journal_style,
    level_colors,
    save_figure,
    use_journal_style,
)
from .withdrawal import plot_withdrawal_sensitivity

__all__ = [
    "JOURNAL_RC",
    "OKABE_ITO",
    "WIDTHS",
    "journal_style",
    "level_colors",
    "plot_clinic_effects",
    "plot_energy",
    "plot_factor_ranking",
    "plot_hazard_ratios",
    "plot_kaplan_meier",
    "plot_kaplan_meier_panels",
    "plot_partial_effect",
    "plot_posterior_recovery",
    "plot_posterior_recovery_panels",
    "plot_prior_predictive",
    "plot_rank_probabilities",
    "plot_recovery_at_followup",
    "plot_trace",
    "plot_withdrawal_sensitivity",
    "prior_curves",
    "save_figure",
    "subgroup_recovery_draws",
    "use_journal_style",
]
