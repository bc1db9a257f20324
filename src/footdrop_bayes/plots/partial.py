"""Partial-effect figure of a smooth term: log hazard ratio against the covariate.

Input is ``partial_effects.csv`` (:func:`footdrop_bayes.summaries.partial_effects`):
``term, value, log_hr_median, log_hr_low, log_hr_high, reference``. Drawn: the credible
band, the posterior median, a rug of the observed values, the reference (the cohort
median, where the log hazard ratio is 0) marked, and a hazard-ratio axis on the right.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .style import OKABE_ITO, label, new_figure, styled

PARTIAL_COLUMNS = ["term", "value", "log_hr_median", "log_hr_low", "log_hr_high"]


@styled
def plot_partial_effect(table: pd.DataFrame, term: str, *, observed=None, ax=None,
                        unit: str | None = None, interval: float | None = None):
    """Plot one smooth term's partial effect with its band, rug and reference.

    Parameters
    ----------
    table : DataFrame
        ``partial_effects.csv``-style rows (other terms are ignored).
    term : str
        The smooth term to draw.
    observed : array-like, optional
        The cohort's observed values (a rug along the bottom).
    ax : matplotlib Axes, optional
        Draw here; default a new single-column figure.
    unit : str, optional
        Unit in the x label, e.g. ``"years"``.
    interval : float, optional
        Interval mass for the legend (default ``table.attrs["interval"]`` or 0.95).

    Returns
    -------
    matplotlib.figure.Figure
    """
    missing = [c for c in PARTIAL_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"partial-effect table lacks columns {missing}")
    rows = table[table["term"] == term].sort_values("value")
    if rows.empty:
        raise ValueError(f"no partial-effect rows for term {term!r} "
                         f"(terms: {sorted(table['term'].unique())})")
    fig = new_figure("single") if ax is None else ax.figure
    ax = fig.add_subplot() if ax is None else ax
    mass = interval if interval is not None else table.attrs.get("interval", 0.95)
    x = rows["value"].to_numpy(float)
    ax.fill_between(x, rows["log_hr_low"], rows["log_hr_high"], color=OKABE_ITO["blue"],
                    alpha=0.25, linewidth=0, label=f"{mass:.0%} credible band")
    ax.plot(x, rows["log_hr_median"], color=OKABE_ITO["blue"], lw=1.4,
            label="posterior median")
    ax.axhline(0.0, color="0.5", lw=0.6, ls=":")
    if "reference" in rows.columns:
        ref = float(rows["reference"].iloc[0])
        ax.plot([ref], [0.0], marker="o", ms=3.5, color="black", ls="none",
                label=f"reference ({ref:g}, cohort median)")
    if observed is not None:
        obs = np.asarray(observed, float)
        ax.plot(obs, np.zeros_like(obs), "|", color="black", ms=4, alpha=0.35,
                transform=ax.get_xaxis_transform(), label="observed values")
    ax.set_xlabel(label(term) + (f" ({unit})" if unit else ""))
    ax.set_ylabel("Log hazard ratio of recovery")
    ax.set_xlim(x.min(), x.max())
    sec = ax.secondary_yaxis("right", functions=(
        np.exp, lambda y: np.log(np.maximum(y, 1e-300))))
    lo, hi = np.exp(ax.get_ylim())
    ticks = [t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
             if lo <= t <= hi]
    sec.set_yticks(ticks, labels=[f"{t:g}" for t in ticks])
    sec.set_ylabel("Hazard ratio")
    ax.set_title(f"{label(term)}: partial effect")
    ax.legend(loc="best")
    return fig
