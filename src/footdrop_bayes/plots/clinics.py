"""Caterpillar (forest) plot of clinics: each clinic's hazard ratio against the average.

Input: the :func:`footdrop_bayes.summaries.clinic_effects` table (``level, n_patients,
hr_median, hr_low, hr_high``) and optionally the :func:`~footdrop_bayes.summaries.
clinic_variation` row for the median hazard ratio in the title.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

from .forest import hr_ticks
from .style import METHOD_COLORS, label, new_figure, styled

CLINIC_COLUMNS = ["level", "n_patients", "hr_median", "hr_low", "hr_high"]
FINE_TICKS = [0.5, 0.67, 0.8, 0.9, 1, 1.1, 1.25, 1.5, 2]


def mhr_text(variation: pd.DataFrame, interval: float) -> str:
    """``"median hazard ratio 1.42 (95% CrI 1.10–2.30)"`` from a clinic-variation row."""
    r = variation.iloc[0]
    return (f"median hazard ratio {r['mhr_median']:.2f} ({100 * interval:g}% CrI "
            f"{r['mhr_low']:.2f}–{r['mhr_high']:.2f})")


@styled
def plot_clinic_effects(effects: pd.DataFrame, variation: pd.DataFrame | None = None, *,
                        ax=None, sort: bool = True, width="single",
                        height: float | None = None, interval: float | None = None,
                        group_label: str | None = None, annotate: bool = True,
                        direction_labels: tuple[str, str] | None = ("slower recovery",
                                                                    "faster recovery")):
    """Each clinic's hazard ratio of recovery against the average clinic, with intervals.

    Parameters
    ----------
    effects : DataFrame
        :func:`~footdrop_bayes.summaries.clinic_effects` table: ``level`` (clinic),
        ``n_patients``, ``hr_median``, ``hr_low``, ``hr_high`` (``n_events`` optional).
    variation : DataFrame, optional
        :func:`~footdrop_bayes.summaries.clinic_variation` row: its median hazard ratio
        goes in the title.
    ax : matplotlib Axes, optional
        Axes to draw on; default a new figure sized to the number of clinics.
    sort : bool
        Order the clinics by their effect (fastest recovery at the top).
    width, height : str or float
        Size of a new figure.
    interval : float, optional
        Interval mass for the axis label (default ``effects.attrs["interval"]`` or 0.95).
    group_label : str, optional
        What a group is called (default the table's ``term``, e.g. "clinic").
    annotate : bool
        Print the number of patients (and recoveries) right of each row.
    direction_labels : (str, str) or None
        Texts under the axis left and right of HR = 1.
    style : bool or mapping, optional
        Journal style on/off or rcParams overrides.

    Returns
    -------
    matplotlib.figure.Figure
    """
    missing = [c for c in CLINIC_COLUMNS if c not in effects.columns]
    if missing:
        raise ValueError(f"clinic table lacks columns {missing}; expected {CLINIC_COLUMNS}")
    if interval is None:
        interval = float(effects.attrs.get("interval", 0.95))
    if group_label is None:
        group_label = str(effects["term"].iloc[0]) if "term" in effects.columns and len(
            effects) else "clinic"
    df = effects.reset_index(drop=True)
    if sort:
        df = df.sort_values("hr_median", ascending=False, kind="stable").reset_index(drop=True)
    n = len(df)
    if ax is None:
        ax = new_figure(width, height if height is not None else 0.9 + 0.22 * n).add_subplot()
    fig = ax.figure
    ax.set_label("clinics")
    y = np.arange(n)
    est = df["hr_median"].to_numpy(float)
    lo, hi = df["hr_low"].to_numpy(float), df["hr_high"].to_numpy(float)
    color = METHOD_COLORS["bayes"]
    ax.set_xscale("log")
    ax.axvline(1.0, color="0.45", lw=0.7, ls=(0, (3, 2)), zorder=0, gid="reference-line")
    ax.hlines(y, lo, hi, color=color, lw=1.1, gid="intervals")
    ax.plot(est, y, "o", color=color, ms=3.5, gid="estimates")
    ax.set_yticks(y, [str(v) for v in df["level"]])
    ax.set_ylim(n - 0.5, -0.7)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    span = max(float(np.nanmax(hi)), 1 / float(np.nanmin(lo)), 1.25)
    lim = (1 / (span * 1.15), span * 1.15)
    ax.set_xlim(*lim)
    ticks = hr_ticks(*lim)
    if len(ticks) < 3:
        ticks = [t for t in FINE_TICKS if lim[0] <= t <= lim[1]]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ref = ("recovery-weighted " if effects.attrs.get("reference") == "recovery-weighted"
           else "")
    # three short lines: one line was wider than a single-column figure and was cut
    ax.set_xlabel(f"Hazard ratio of recovery against the\n{ref}average {group_label}\n"
                  f"(median, {100 * interval:g}% CrI; log scale)")
    if annotate:
        has_events = "n_events" in df.columns
        for yi, r in zip(y, df.itertuples(), strict=True):
            txt = f"n={int(r.n_patients)}" + (f", {int(r.n_events)} rec." if has_events
                                              else "")
            ax.annotate(txt, xy=(1.0, yi), xycoords=("axes fraction", "data"),
                        xytext=(4, 0), textcoords="offset points", va="center", ha="left",
                        fontsize="small", color="0.3", gid="n-text")
    if direction_labels:
        kw = {"xycoords": ("data", "axes fraction"), "textcoords": "offset points",
              "fontsize": "small", "color": "0.35", "va": "top", "gid": "direction"}
        ax.annotate(f"← {direction_labels[0]}", xy=(1.0, 1), xytext=(-4, -1), ha="right",
                    **kw)
        ax.annotate(f"{direction_labels[1]} →", xy=(1.0, 1), xytext=(4, -1), ha="left",
                    **kw)
    title = f"{label(group_label)}s"
    if variation is not None and len(variation):
        title += f": {mhr_text(variation, interval)}"
    ax.set_title(title, fontsize="medium", fontweight="normal")
    return fig
