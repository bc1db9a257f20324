"""Swimmer plot: one bar per patient, coloured by a time-varying value over time.

Recovery (first visit that found it) is marked with a filled triangle at the bar's end;
withdrawal with a cross at the last visit; a bar reaching the end of follow-up without a
mark is a patient still unrecovered then.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .style import PALETTE, level_colors


def plot_swimmer(cohort, *, variable: str | None = None, max_patients: int = 60,
                 random_seed: int | None = 0, ax=None):
    """Draw the swimmer plot of a cohort with time-varying columns.

    Parameters
    ----------
    cohort : Cohort
        With time-varying columns.
    variable : str, optional
        The time-varying column (default the first).
    max_patients : int
        At most this many patients (a seeded random sample when there are more, the
        number shown stated in the title), sorted by follow-up.
    random_seed : int, optional
        Seed of the sample.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Figure
    """
    if not cohort.time_varying:
        raise ValueError("the cohort has no time-varying columns")
    variable = variable or cohort.time_varying[0]
    paths = cohort.time_varying_path_table()
    paths = paths[paths["variable"] == variable]
    iv = cohort.intervals
    ids = np.asarray(cohort.patient_ids)
    if len(ids) > max_patients:
        rng = np.random.default_rng(random_seed)
        ids = rng.choice(ids, max_patients, replace=False)
    end = iv.loc[ids, "last_visit"].to_numpy(float)
    ids = ids[np.argsort(end, kind="stable")]
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, max(2.5, 0.07 * len(ids) + 1.2)))
    else:
        fig = ax.figure
    levels = [str(x) for x in cohort.time_varying_levels[variable]]
    colors = level_colors(levels, PALETTE[1:])      # black is kept for the markers
    by_patient = dict(tuple(paths.groupby("patient", sort=False)))
    for y, pid in enumerate(ids):
        runs = by_patient.get(pid)
        if runs is not None:
            for start, stop, value in runs[["start", "stop", "value"]].itertuples(
                    index=False):
                ax.barh(y, stop - start, left=start, height=0.7,
                        color=colors[str(value)], linewidth=0)
        row = iv.loc[pid]
        if row["event"]:
            ax.plot(row["first_recovered"], y, marker=">", color="black", ms=4)
        elif row["withdrawn"]:
            ax.plot(row["last_visit"], y, marker="x", color="black", ms=4)
    ax.set_yticks([])
    ax.set_xlabel(f"{cohort.time_unit}s since referral", labelpad=1)
    ax.set_ylabel("patients")
    ax.set_xlim(0, float(cohort.follow_up) * 1.02)
    shown = f"{len(ids)} of {cohort.n_patients} patients" \
        if len(ids) < cohort.n_patients else f"{len(ids)} patients"
    ax.set_title(f"{variable} over follow-up ({shown})", fontsize=9)
    handles = [Patch(color=colors[lv], label=lv) for lv in levels]
    handles += [Line2D([], [], marker=">", ls="", color="black", label="recovered"),
                Line2D([], [], marker="x", ls="", color="black", label="withdrawn")]
    ax.legend(handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12),
              ncol=len(handles), frameon=False)
    return fig


def plot_regime_curves(table, *, time_unit: str = "month", ax=None):
    """Recovery curves under static regimes (:func:`~footdrop_bayes.summaries.
    time_varying.regime_table`): median lines with interval bands, one per regime.

    Returns
    -------
    matplotlib Figure
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 3.2))
    else:
        fig = ax.figure
    regimes = list(dict.fromkeys(table["regime"]))
    colors = level_colors(regimes)
    for r in regimes:
        t = table[table["regime"] == r]
        x = np.r_[0.0, t["time"].to_numpy(float)]
        ax.plot(x, np.r_[0.0, t["median"]], color=colors[r], label=r)
        ax.fill_between(x, np.r_[0.0, t["low"]], np.r_[0.0, t["high"]],
                        color=colors[r], alpha=0.15, linewidth=0)
    ax.set_xlabel(f"{time_unit}s since referral")
    ax.set_ylabel("recovered")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    return fig
