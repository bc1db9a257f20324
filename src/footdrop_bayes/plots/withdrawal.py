"""Withdrawal sensitivity: recovery (and differences) against the post-withdrawal delta.

Reads the tables of :mod:`footdrop_bayes.summaries.withdrawal`: the probabilities
(``delta, term, level, time, median, low, high``), optionally the differences
(``... reference, diff_median, diff_low, diff_high``) and the tipping points. The delta
axis is linear over the finite grid with the infinite ends drawn one step beyond it
(labelled −∞ and +∞); delta = 0, the missing-at-random analysis (withdrawn censored), is
marked, and so is each tipping point.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .style import OKABE_ITO, level_colors, new_figure, styled

MAR_LABEL = "δ = 0: censored (MAR)"


def _positions(deltas: np.ndarray) -> tuple[np.ndarray, list, list]:
    """x positions of deltas (infinite ends one step beyond), ticks and tick labels."""
    finite = np.sort(np.unique(deltas[np.isfinite(deltas)]))
    lo, hi = (finite[0], finite[-1]) if len(finite) else (0.0, 0.0)
    step = max(1.0, 0.15 * (hi - lo))
    pos = np.where(deltas == -np.inf, lo - step, np.where(deltas == np.inf, hi + step, deltas))
    ticks, labels = [], []
    if np.any(deltas == -np.inf):
        ticks.append(lo - step)
        labels.append("−∞")
    for d in finite:
        if float(d).is_integer():
            ticks.append(d)
            labels.append(f"{d:g}".replace("-", "−"))
    if np.any(deltas == np.inf):
        ticks.append(hi + step)
        labels.append("+∞")
    return pos, ticks, labels


def _axes(fig, ax, n_rows: int, n_cols: int):
    if ax is None:
        return np.atleast_2d(fig.subplots(n_rows, n_cols, squeeze=False))
    axes = np.asarray(ax, dtype=object).reshape(n_rows, n_cols)
    return axes


def _tip_position(tip: float, deltas: np.ndarray) -> float:
    """x of a tipping delta: itself inside the finite grid, halfway to the infinite end
    beyond it."""
    finite = deltas[np.isfinite(deltas)]
    lo, hi = finite.min(), finite.max()
    step = max(1.0, 0.15 * (hi - lo))
    return float(np.clip(tip, lo - step / 2, hi + step / 2))


@styled
def plot_withdrawal_sensitivity(table: pd.DataFrame, differences: pd.DataFrame | None = None,
                                tipping: pd.DataFrame | None = None, *, terms=None,
                                time: float | None = None, ax=None, width="double",
                                height: float | None = None, interval: float | None = None,
                                time_unit: str = "month"):
    """Recovery probability per level, and its difference from the reference, against delta.

    Parameters
    ----------
    table : DataFrame
        ``summaries.withdrawal_sensitivity`` table.
    differences : DataFrame, optional
        ``summaries.withdrawal_differences`` table: adds a right-hand panel per factor.
    tipping : DataFrame, optional
        ``summaries.tipping_points`` table: marks each tipping point on the differences.
    terms : sequence of str, optional
        Factors to draw (default every term of ``table`` but ``all``).
    time : float, optional
        Time shown (default the latest in ``table``).
    ax : matplotlib Axes or array of Axes, optional
        One row per term, one column (two with ``differences``); default a new figure.
    width, height
        Figure size when ``ax`` is None.
    interval : float, optional
        Interval mass for the legend (default ``table.attrs["interval"]``).
    time_unit : str
        Label of the time axis unit.

    Returns
    -------
    matplotlib.figure.Figure
    """
    time = float(table["time"].max()) if time is None else float(time)
    tab = table[np.isclose(table["time"], time)]
    if terms is None:
        terms = [t for t in pd.unique(tab["term"]) if t != "all"] or ["all"]
    terms = list(terms)
    if not terms:
        raise ValueError("no terms to draw")
    interval = table.attrs.get("interval", 0.95) if interval is None else interval
    lvl = f"{100 * interval:g}%"
    n_cols = 2 if differences is not None else 1
    fig = (new_figure(width, (1.9 * len(terms) + 0.4) if height is None else height)
           if ax is None else np.ravel(np.asarray(ax, dtype=object))[0].figure)
    axes = _axes(fig, ax, len(terms), n_cols)
    pos_all, ticks, labels = _positions(tab["delta"].to_numpy(float))
    delta_pos = dict(zip(tab["delta"].to_numpy(float), pos_all, strict=False))
    for r, term in enumerate(terms):
        a = axes[r, 0]
        sub = tab[tab["term"] == term]
        levels = list(pd.unique(sub["level"]))
        colors = level_colors(levels)
        for lv in levels:
            d = sub[sub["level"] == lv].sort_values("delta")
            x = d["delta"].map(delta_pos).to_numpy(float)
            a.fill_between(x, d["low"] * 100, d["high"] * 100, color=colors[lv], alpha=0.15,
                           linewidth=0)
            a.plot(x, d["median"] * 100, color=colors[lv], marker="o", markersize=2.5,
                   label=str(lv))
        a.axvline(0, color="grey", linewidth=0.6, linestyle="--", label=MAR_LABEL)
        a.set_ylabel(f"% recovered by {time:g} {time_unit}s")
        a.set_title(f"{term}" if term != "all" else "All patients")
        a.set_ylim(0, 100)
        a.legend(loc="best", fontsize=6)
        if n_cols == 2:
            _draw_differences(axes[r, 1], differences, tipping, term, time, delta_pos, lvl,
                              tab["delta"].to_numpy(float))
        for b in axes[r, :]:
            b.set_xticks(ticks, labels)
            b.set_xlabel("δ: log hazard ratio of recovery after withdrawal")
    return fig


def _draw_differences(a, differences, tipping, term, time, delta_pos, lvl, deltas) -> None:
    diff = differences[(differences["term"] == term)
                       & np.isclose(differences["time"], time)]
    levels = list(pd.unique(diff["level"]))
    refs = list(pd.unique(diff["reference"]))
    colors = level_colors(refs + levels)
    for lv in levels:
        d = diff[diff["level"] == lv].sort_values("delta")
        x = d["delta"].map(delta_pos).to_numpy(float)
        a.fill_between(x, d["diff_low"] * 100, d["diff_high"] * 100, color=colors[lv],
                       alpha=0.15, linewidth=0)
        a.plot(x, d["diff_median"] * 100, color=colors[lv], marker="o", markersize=2.5,
               label=f"{lv} − {d['reference'].iloc[0]}")
    a.axhline(0, color="black", linewidth=0.6)
    a.axvline(0, color="grey", linewidth=0.6, linestyle="--")
    if tipping is not None and len(tipping):
        tp = tipping[(tipping["term"] == term) & tipping["tipping_delta"].notna()
                     & np.isclose(tipping["time"], time)]
        for row in tp.itertuples():
            x = _tip_position(row.tipping_delta, deltas)
            a.axvline(x, color=colors.get(row.level, OKABE_ITO["vermillion"]),
                      linewidth=0.9, linestyle=":")
            a.annotate(f"tipping point\nδ = {row.tipping_delta:.2f}",
                       (x, 0), xytext=(3, 6), textcoords="offset points",
                       fontsize=6, color=colors.get(row.level, "black"))
    a.set_ylabel(f"difference, % points ({lvl} CrI)")
    a.set_title(f"{term}: difference from {refs[0]}" if refs else term)
    if levels:
        a.legend(loc="best", fontsize=6)
