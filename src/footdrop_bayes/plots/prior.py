"""Prior predictive recovery curves: does the prior allow plausible recovery times?

Each prior draw gives a recovery curve of the cohort: the share of the cohort's patients
(with their own covariates) whose simulated recovery time falls before ``t``. The figure
shows a sample of these curves, pointwise bands over all draws and, optionally, the
observed Kaplan–Meier curve of the cohort; a second panel shows the prior predictive
distribution of the share recovered by the end of follow-up. A sensible prior spreads
over plausible curves (not all at 0 % or 100 % by the first visit) and covers the observed
one without hugging it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from .km import PERCENT, draw_km, legend_columns, time_label
from .style import METHOD_COLORS, new_figure, styled

SAMPLE_DIMS = ("chain", "draw")


def prior_curves(prior, times=None) -> xr.DataArray:
    """Cohort recovery curve per prior draw, dims ``sample, time``.

    Parameters
    ----------
    prior : Dataset or DataArray
        ``RecoveryModel.prior_predictive()`` (uses ``recovery_time``, dims ``chain, draw,
        patient``) or curves with dims ``chain, draw[, patient], <time>`` (averaged over
        ``patient``).
    times : array-like, optional
        Times for the simulated-time input; default 121 points from 0 to the last visit.
    """
    if isinstance(prior, xr.Dataset):
        if "recovery_time" not in prior:
            raise ValueError("prior predictive dataset needs a 'recovery_time' variable "
                             "(RecoveryModel.prior_predictive())")
        rt = prior["recovery_time"]
        if times is None:
            end = float(np.nanmax(prior["last_unrecovered"].values)) \
                if "last_unrecovered" in prior else float(np.nanmax(
                    np.where(np.isfinite(rt.values), rt.values, np.nan)))
            times = np.linspace(0.0, end, 121)
        times = np.asarray(times, float)
        flat = rt.stack(sample=[d for d in SAMPLE_DIMS if d in rt.dims]).transpose(
            "sample", "patient").values
        share = (flat[:, :, None] <= times[None, None, :]).mean(axis=1)
        return xr.DataArray(share, dims=("sample", "time"), coords={"time": times})
    da = prior
    if "patient" in da.dims:
        da = da.mean("patient")
    tdim = next(d for d in da.dims if d not in SAMPLE_DIMS and d != "sample")
    da = da.stack(sample=[d for d in SAMPLE_DIMS if d in da.dims]) if "sample" not in da.dims \
        else da
    da = da.transpose("sample", tdim).rename({tdim: "time"})
    t = np.asarray(da["time"].values, float)
    vals = da.values
    if t[0] > 0:
        t = np.concatenate([[0.0], t])
        vals = np.concatenate([np.zeros((vals.shape[0], 1)), vals], axis=1)
    return xr.DataArray(vals, dims=("sample", "time"), coords={"time": t})


@styled
def plot_prior_predictive(prior, km: xr.Dataset | None = None, *, n_curves: int = 50,
                          intervals: Sequence[float] = (0.5, 0.9), histogram: bool = True,
                          axes=None, ax=None, width="single", height: float | None = None,
                          time_unit: str = "month"):
    """Prior predictive recovery curves of the cohort, with the observed curve for scale.

    Parameters
    ----------
    prior : Dataset or DataArray
        ``RecoveryModel.prior_predictive(draws, random_seed=...)``, or prior recovery
        curves (see :func:`prior_curves`).
    km : xarray.Dataset, optional
        Overall :func:`~footdrop_bayes.classical.kaplan_meier` (``by=None``), drawn black.
    n_curves : int
        Prior draws drawn as thin lines (evenly spaced through the draws).
    intervals : sequence of float
        Pointwise bands over all prior draws.
    histogram : bool
        Add a panel with the prior predictive share recovered by the end of follow-up.
    axes, ax : Axes, optional
        Two axes (curves, histogram) or one axes (curves only).
    style : bool or mapping, optional
        Journal style on/off or rcParams overrides.

    Returns
    -------
    matplotlib.figure.Figure
    """
    curves = prior_curves(prior)
    t = curves["time"].values
    vals = curves.values
    if ax is not None:
        axes, histogram = [ax], False
    if axes is None:
        fig = new_figure(width, height if height is not None else 2.5)
        axes = fig.subplots(1, 2, width_ratios=[2.2, 1]) if histogram else [fig.add_subplot()]
    axes = list(np.atleast_1d(axes))
    fig = axes[0].figure
    a = axes[0]
    a.set_label("prior_curves")
    color = METHOD_COLORS["prior"]
    for k, m in enumerate(sorted(intervals, reverse=True)):
        lo, hi = np.quantile(vals, [(1 - m) / 2, 1 - (1 - m) / 2], axis=0)
        band = a.fill_between(t, lo, hi, color=color, alpha=0.12 + 0.12 * k, lw=0)
        band.set_gid(f"prior-band:{m:g}")
    pick = np.unique(np.linspace(0, len(vals) - 1, min(n_curves, len(vals))).astype(int))
    for i in pick:
        a.plot(t, vals[i], color=color, lw=0.4, alpha=0.45, gid="prior-draw")
    a.plot(t, np.median(vals, axis=0), color=color, lw=1.4, gid="prior-median")
    if km is not None:
        draw_km(a, km, colors=[METHOD_COLORS["km"]], bands=False, censor_marks=False)
        for line in a.get_lines():
            if (line.get_gid() or "").startswith("km:"):
                line.set_linewidth(1.4)
    a.set_xlim(0, t[-1])
    a.set_ylim(0, 1.02)
    a.set_yticks(np.linspace(0, 1, 5))
    a.yaxis.set_major_formatter(PERCENT)
    a.set_xlabel(time_label(time_unit))
    a.set_ylabel("Recovered (%)")
    handles = [Line2D([], [], color=color, lw=1.4, label="Prior median"),
               Line2D([], [], color=color, lw=0.4, label="Prior draws")]
    handles += [Patch(color=color, alpha=0.12 + 0.12 * k, lw=0, label=f"{100 * m:g}% band")
                for k, m in enumerate(sorted(intervals, reverse=True))]
    if km is not None:
        handles.append(Line2D([], [], color=METHOD_COLORS["km"], lw=1.4,
                              label="Observed (Kaplan–Meier)"))
    ncol = legend_columns([hd.get_label() for hd in handles], 0.9 * fig.get_figwidth())
    fig.legend(handles=handles, loc="outside upper left", ncols=ncol, columnspacing=1.0,
               handlelength=1.4)
    if histogram and len(axes) > 1:
        h = axes[1]
        h.set_label("prior_end")
        end = vals[:, -1]
        h.hist(100 * end, bins=np.linspace(0, 100, 21), orientation="horizontal",
               color=color, alpha=0.6, edgecolor="white", linewidth=0.4, gid="prior-hist")
        if km is not None:
            obs = float(np.asarray(km["recovered"].values, float)[-1])
            h.axhline(100 * obs, color=METHOD_COLORS["km"], lw=1.2, gid="observed-end")
        h.set_ylim(0, 102)
        h.set_yticks(np.linspace(0, 100, 5))
        h.tick_params(axis="y", labelleft=False)
        h.set_xlabel("Prior draws")
        h.xaxis.set_major_locator(MaxNLocator(3, integer=True))
        h.set_title(f"By {t[-1]:g} {time_unit}s", fontsize="small", fontweight="normal")
        h.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:.0f}"))
    return fig
