"""Kaplan–Meier recovery curves by factor level, with a number-at-risk table.

Input is the :func:`footdrop_bayes.classical.kaplan_meier` dataset (cumulative recovery
``recovered`` with its band, ``at_risk`` and ``censored`` per level and grid time), so the
figure shows exactly the numbers of the classical analysis. Curves are right-continuous
steps; ``|`` marks patients last seen unrecovered (censored) at a visit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.ticker import FuncFormatter, MaxNLocator

from .style import figure_width, format_p, label, level_colors, new_figure, styled

PERCENT = FuncFormatter(lambda y, _: f"{100 * y:.0f}")


def _levels_and_time(km: xr.Dataset) -> tuple[str | None, list, str]:
    tdim = km.attrs.get("time_unit") or next(d for d in km["recovered"].dims
                                             if d not in (km.attrs.get("by"),))
    by = km.attrs.get("by") or None
    others = [d for d in km["recovered"].dims if d != tdim]
    if by is None and others:
        by = others[0]
    levels = [str(v) for v in km[by].values] if by else ["all"]
    return by, levels, tdim


def _series(km: xr.Dataset, var: str, by: str | None, level) -> np.ndarray:
    da = km[var]
    if by is not None:
        da = da.isel({by: [str(v) for v in km[by].values].index(str(level))})
    return np.asarray(da.values, dtype=float)


def p_value_for(p_value, factor: str | None) -> float | None:
    """A p-value from a float, or from :func:`~footdrop_bayes.classical.logrank`'s table."""
    if p_value is None:
        return None
    if isinstance(p_value, pd.DataFrame):
        return float(p_value.loc[factor, "p_value"])
    if isinstance(p_value, (pd.Series, Mapping)):
        return float(p_value[factor])
    return float(p_value)


def time_label(unit: str) -> str:
    """Axis label of the time axis, e.g. ``"Time since referral (months)"``."""
    return f"Time ({unit}s)" if unit and not unit.endswith("s") else f"Time ({unit})"


def draw_km(ax, km: xr.Dataset, *, colors=None, bands: bool = True,
            censor_marks: bool = True, linestyle: str = "-", alpha_band: float = 0.15,
            label_suffix: str = "") -> dict:
    """Draw the Kaplan–Meier steps (and bands, censor marks) of every level on ``ax``.

    Returns the level -> colour mapping used.
    """
    by, levels, tdim = _levels_and_time(km)
    t = np.asarray(km[tdim].values, dtype=float)
    cmap = level_colors(levels, colors)
    for lv in levels:
        c = cmap[lv]
        y = _series(km, "recovered", by, lv)
        if bands:
            lo, hi = _series(km, "recovered_low", by, lv), _series(km, "recovered_high", by, lv)
            band = ax.fill_between(t, lo, hi, step="post", color=c, alpha=alpha_band,
                                   linewidth=0, label="_nolegend_")
            band.set_gid(f"km-band:{lv}")
        (line,) = ax.step(t, y, where="post", color=c, linestyle=linestyle,
                          label=f"{lv}{label_suffix}")
        line.set_gid(f"km:{lv}")
        if censor_marks and "censored" in km:
            cens = _series(km, "censored", by, lv) > 0
            if cens.any():
                (m,) = ax.plot(t[cens], y[cens], linestyle="none", marker="|", color=c,
                               markersize=4, markeredgewidth=0.8, label="_nolegend_")
                m.set_gid(f"km-censored:{lv}")
    ax.set_xlim(t[0], t[-1] + 0.02 * (t[-1] - t[0]))
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PERCENT)
    ax.yaxis.set_major_locator(MaxNLocator(5))
    if len(t) <= 13:
        ax.set_xticks(t)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    return cmap


def draw_at_risk(table_ax, km: xr.Dataset, *, colors=None, times=None,
                 title: str = "Number at risk") -> None:
    """Number-at-risk table on ``table_ax`` (shares the time axis of the curves).

    One row per level (level names as row labels, in the level's colour), one number per
    visit time (or per ``times``).
    """
    by, levels, tdim = _levels_and_time(km)
    t = np.asarray(km[tdim].values, dtype=float)
    cmap = level_colors(levels, colors)
    show = t if times is None else np.asarray(times, dtype=float)
    for row, lv in enumerate(levels):
        n = _series(km, "at_risk", by, lv)
        for x in show:
            k = int(np.argmin(np.abs(t - x)))
            table_ax.text(t[k], row, f"{int(n[k])}", ha="center", va="center",
                          color=cmap[lv], fontsize=mpl.rcParams["ytick.labelsize"],
                          gid=f"at-risk:{lv}")
    table_ax.set_ylim(len(levels) - 0.5, -0.5)
    table_ax.set_yticks(range(len(levels)), levels)
    for tick, lv in zip(table_ax.get_yticklabels(), levels, strict=True):
        tick.set_color(cmap[lv])
    table_ax.tick_params(axis="y", length=0, pad=10)
    table_ax.tick_params(axis="x", which="both", bottom=False, labelbottom=False)
    for s in table_ax.spines.values():
        s.set_visible(False)
    table_ax.set_title(title, loc="left", fontsize="small", fontweight="normal", pad=2)
    table_ax.set_label("at_risk")


def legend_columns(labels: Sequence[str], width_in: float, fontsize: float = 7.0) -> int:
    """Most legend columns whose (estimated) total width fits in ``width_in`` inches."""
    char = 0.55 * fontsize / 72  # average glyph width of a sans-serif font, inches
    handle = (1.6 + 0.8) * fontsize / 72 + 1.2 * fontsize / 72  # handle, pad, spacing
    n = len(labels)
    for ncol in range(n, 0, -1):
        rows = int(np.ceil(n / ncol))
        cols = [labels[i * rows:(i + 1) * rows] for i in range(ncol)]
        total = sum(handle + char * max((len(s) for s in c), default=0) for c in cols if c)
        if total <= width_in:
            return ncol
    return 1


def place_legend(ax, title: str | None, loc: str = "outside", **kwargs):
    """Legend inside the axes at ``loc``, or ``"outside"``: above the axes, never on data.

    Outside legends get as many columns as fit the axes' width.
    """
    handles, labels = ax.get_legend_handles_labels()
    if loc == "outside":
        fig = ax.figure
        width = ax.get_position().width * fig.get_figwidth() * 0.95
        ncol = legend_columns(labels, width)
        return ax.legend(handles, labels, title=title, loc="lower left",
                         bbox_to_anchor=(0, 1.01), ncols=ncol, alignment="left",
                         borderaxespad=0, columnspacing=1.2, **kwargs)
    return ax.legend(handles, labels, title=title, loc=loc, alignment="left", **kwargs)


def _table_height(n_levels: int) -> float:
    return 0.22 + 0.13 * n_levels


@styled
def plot_kaplan_meier(km: xr.Dataset, *, p_value=None, at_risk: bool = True,
                      bands: bool = True, censor_marks: bool = True, colors=None,
                      ax=None, table_ax=None, width="single", height: float | None = None,
                      title: str | None = None, legend_loc: str = "outside",
                      ylabel: str = "Recovered (%)", xlabel: str | None = None):
    """Kaplan–Meier curves of cumulative recovery by factor level, with a number-at-risk table.

    Parameters
    ----------
    km : xarray.Dataset
        :func:`footdrop_bayes.classical.kaplan_meier` output (by a factor, or overall).
    p_value : float, DataFrame or mapping, optional
        Log-rank p-value shown in the legend title; may be the
        :func:`~footdrop_bayes.classical.logrank` table (row of the factor is used).
    at_risk : bool
        Draw the number-at-risk table under the time axis.
    bands : bool
        Draw the pointwise confidence bands of ``km``.
    censor_marks : bool
        Mark censored patients (``|``).
    colors : mapping or sequence, optional
        Level colours (default: Okabe–Ito by level position, reference black).
    ax, table_ax : matplotlib Axes, optional
        Axes for the curves and the table; with ``ax`` but no ``table_ax`` the table is an
        inset under ``ax`` (leave room below it).
    width, height : str or float
        Figure size for a new figure (``"single"`` 3.5 in or ``"double"`` 7.2 in).
    title, ylabel, xlabel : str, optional
        Texts; ``xlabel`` defaults to ``"Time (<unit>s)"``.
    legend_loc : str
        ``"outside"`` (above the axes, the default: never covers a curve) or a
        matplotlib location inside the axes (``"lower right"``).
    style : bool or mapping, optional
        Journal style on/off or rcParams overrides (see :func:`journal_style`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    by, levels, tdim = _levels_and_time(km)
    if ax is None:
        if height is None:
            ncol = legend_columns(levels, figure_width(width) - 1.0)
            height = (2.3 + (_table_height(len(levels)) if at_risk else 0)
                      + 0.14 * np.ceil(len(levels) / ncol))
        fig = new_figure(width, height)
        if at_risk:
            gs = fig.add_gridspec(2, 1, height_ratios=[2.3, _table_height(len(levels))])
            ax = fig.add_subplot(gs[0])
            table_ax = fig.add_subplot(gs[1], sharex=ax)
        else:
            ax = fig.add_subplot()
    fig = ax.figure
    if at_risk and table_ax is None:
        h = _table_height(len(levels)) / 2.3
        table_ax = ax.inset_axes([0, -0.25 - h, 1, h], sharex=ax)
    ax.set_label("km")
    cmap = draw_km(ax, km, colors=colors, bands=bands, censor_marks=censor_marks)
    if at_risk:
        draw_at_risk(table_ax, km, colors=cmap)
    ax.set_xlabel(xlabel if xlabel is not None else time_label(tdim))
    ax.set_ylabel(ylabel)
    p = p_value_for(p_value, by)
    legend_title = label(by) if by else None
    if p is not None:
        legend_title = f"{legend_title}, log-rank {format_p(p)}" if legend_title \
            else f"Log-rank {format_p(p)}"
    if by:
        place_legend(ax, legend_title, legend_loc)
    elif legend_title:
        ax.text(0.02, 0.98, legend_title, transform=ax.transAxes, va="top")
    if title:
        ax.set_title(title)
    return fig


@styled
def plot_kaplan_meier_panels(kms: Mapping[str, xr.Dataset] | Sequence[xr.Dataset], *,
                             p_values=None, ncols: int = 2, at_risk: bool = True,
                             bands: bool = True, width="double",
                             height: float | None = None, panel_labels: bool = True):
    """Kaplan–Meier figure with one panel (curves + at-risk table) per factor.

    Parameters
    ----------
    kms : mapping factor -> Dataset, or sequence of Datasets
        One :func:`~footdrop_bayes.classical.kaplan_meier` result per factor.
    p_values : DataFrame or mapping, optional
        The :func:`~footdrop_bayes.classical.logrank` table (or factor -> p).
    ncols : int
        Panels per row.
    panel_labels : bool
        Label panels A, B, C, ... (titles carry the factor names).

    Returns
    -------
    matplotlib.figure.Figure
    """
    items = list(kms.values()) if isinstance(kms, Mapping) else list(kms)
    n = len(items)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    max_levels = max(len(_levels_and_time(k)[1]) for k in items)
    th = _table_height(max_levels) if at_risk else 0.0
    fig = new_figure(width, height if height is not None else nrows * (2.0 + th + 0.35))
    outer = fig.add_gridspec(nrows, ncols)
    for i, km in enumerate(items):
        by, _, tdim = _levels_and_time(km)
        cell = outer[i // ncols, i % ncols]
        if at_risk:
            inner = cell.subgridspec(2, 1, height_ratios=[2.0, th])
            ax = fig.add_subplot(inner[0])
            tax = fig.add_subplot(inner[1], sharex=ax)
        else:
            ax, tax = fig.add_subplot(cell), None
        ax.set_label("km")
        cmap = draw_km(ax, km, bands=bands)
        if tax is not None:
            draw_at_risk(tax, km, colors=cmap)
        ax.set_xlabel(time_label(tdim))
        ax.set_ylabel("Recovered (%)")
        p = p_value_for(p_values, by)
        prefix = f"{chr(ord('A') + i)}  " if panel_labels else ""
        name = label(by) if by else "All patients"
        title = f"{prefix}{name}" + (f", log-rank {format_p(p)}" if p is not None else "")
        leg = place_legend(ax, title, "outside")
        leg.get_title().set_fontweight("bold")
    return fig
