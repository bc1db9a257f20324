"""Posterior recovery curves per factor level, overlaid on the observed Kaplan–Meier steps.

The model-checking figure: for each level, the posterior median of the probability of
having recovered by each visit (solid line) with credible bands, and the Kaplan–Meier
estimate of the same patients (dashed steps, same colour).

Which posterior curve to compare with Kaplan–Meier matters. The Kaplan–Meier curve of a
level describes *the patients at that level*, with their own ages, causes, sites; the
model's matching quantity is the average of those patients' own predicted curves
(:func:`subgroup_recovery_draws`). The g-computation curves of
:mod:`footdrop_bayes.summaries` (everyone set to the level) answer a different, causal
question and differ from Kaplan–Meier whenever levels differ in their other
characteristics; both are accepted here.

Accepted curve inputs:

- a DataArray of draws with dims ``chain, draw, <factor>, <time>`` (from
  :func:`subgroup_recovery_draws` or ``summaries.level_recovery_draws(model)[factor]``);
  two bands are drawn (``intervals``);
- the ``summaries.recovery_probabilities(model, times="grid")`` table (``term, level, time,
  median, low, high``); one band (its interval).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .km import PERCENT, draw_km, place_legend, time_label
from .style import label, level_colors, new_figure, styled

SAMPLE_DIMS = ("chain", "draw")


def subgroup_recovery_draws(model, factor: str) -> xr.DataArray:
    """Average of the predicted recovery curves of the patients at each level, per draw.

    The model's counterpart of the Kaplan–Meier curve of each level (same patients).

    Parameters
    ----------
    model : RecoveryModel
        A fitted model.
    factor : str
        A factor of the cohort (need not be in the model).

    Returns
    -------
    xarray.DataArray
        Dims ``chain, draw, <factor>, <time_unit>`` (levels in the cohort's order, times
        ``grid[1:]``).
    """
    from ..model.profiles import distinct_profiles, weighted_curves

    g = model.cohort.covariates[factor].reindex(model.data.patients)
    levels = list(g.cat.categories) if isinstance(g.dtype, pd.CategoricalDtype) \
        else list(pd.unique(g))
    label = pd.Index(levels).get_indexer(g.astype(object)) if not \
        isinstance(g.dtype, pd.CategoricalDtype) else g.cat.codes.to_numpy()
    # identical patients (covariates and level) have identical curves: sum over the
    # distinct profiles with their counts, in bounded blocks
    known = np.asarray(label) >= 0                                      # missing: none
    codes, z, lab, counts = distinct_profiles(
        {k: v[known] for k, v in model.data.codes.items()}, model.data.z[known],
        np.asarray(label)[known],
        None if model.data.row_weight is None else model.data.row_weight[known])
    times = model.data.grid[1:]
    total = weighted_curves(model, codes, z, counts, times, labels=lab,
                            n_labels=len(levels))[:, :, 0]           # (c, d, level, T)
    n = np.bincount(lab, weights=counts, minlength=len(levels))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n[None, None, :, None]
    post = model.idata.posterior
    out = xr.DataArray(mean, dims=("chain", "draw", factor, model.data.time_unit),
                       coords={"chain": post.chain.values, "draw": post.draw.values,
                               factor: [str(lv) for lv in levels],
                               model.data.time_unit: times})
    return out.rename("recovery_probability")


def _time_dim(da: xr.DataArray, factor: str) -> str:
    return next(d for d in da.dims if d not in (*SAMPLE_DIMS, factor, "sample"))


def curve_summary(curves, factor: str | None = None,
                  intervals: Sequence[float] = (0.5, 0.95)) -> tuple[str, dict]:
    """Median and bands per level from draws or a ``recovery_probabilities`` table.

    Returns
    -------
    factor, dict
        level -> DataFrame indexed by time (starting at 0, probability 0) with ``median``
        and ``low_<mass>``/``high_<mass>`` columns for each interval mass.
    """
    out = {}
    if isinstance(curves, pd.DataFrame):
        df = curves
        if factor is None:
            terms = [t for t in pd.unique(df["term"]) if t != "all"]
            if len(terms) != 1:
                raise ValueError(f"the table holds terms {terms}; choose one with factor=")
            factor = terms[0]
        sub = df[df["term"] == factor]
        if sub.empty:
            raise ValueError(f"no rows for factor {factor!r} in the table")
        mass = float(df.attrs.get("interval", 0.95))
        for lv in pd.unique(sub["level"]):
            s = sub[sub["level"] == lv].sort_values("time").set_index("time")
            s = s[["median", "low", "high"]].rename(columns={"low": f"low_{mass:g}",
                                                             "high": f"high_{mass:g}"})
            out[str(lv)] = _with_zero(s)
        return factor, out
    da = curves
    if factor is None:
        factor = next(d for d in da.dims if d not in SAMPLE_DIMS and d != da.dims[-1])
    tdim = _time_dim(da, factor)
    dims = [d for d in SAMPLE_DIMS if d in da.dims]
    qs = [0.5]
    for m in intervals:
        qs += [(1 - m) / 2, 1 - (1 - m) / 2]
    q = da.quantile(qs, dim=dims)
    t = np.asarray(da[tdim].values, float)
    for lv in da[factor].values:
        vals = q.sel({factor: lv}).transpose("quantile", tdim).values
        cols = {"median": vals[0]}
        for k, m in enumerate(intervals):
            cols[f"low_{m:g}"], cols[f"high_{m:g}"] = vals[1 + 2 * k], vals[2 + 2 * k]
        out[str(lv)] = _with_zero(pd.DataFrame(cols, index=pd.Index(t, name="time")))
    return factor, out


def _with_zero(s: pd.DataFrame) -> pd.DataFrame:
    if not np.isclose(s.index.min(), 0.0):
        zero = pd.DataFrame({c: [0.0] for c in s.columns}, index=pd.Index([0.0], name="time"))
        s = pd.concat([zero, s])
    return s


def _masses(frame: pd.DataFrame) -> list[float]:
    return sorted((float(c[4:]) for c in frame.columns if c.startswith("low_")), reverse=True)


def draw_posterior_curves(ax, summary: dict, colors: dict, levels=None) -> None:
    """Bands (widest lightest) and median line of each level on ``ax``."""
    for lv in levels or summary:
        s = summary[lv]
        t = s.index.to_numpy(float)
        masses = _masses(s)
        for k, m in enumerate(masses):
            band = ax.fill_between(t, s[f"low_{m:g}"], s[f"high_{m:g}"], color=colors[lv],
                                   alpha=0.13 + 0.12 * k, linewidth=0, label="_nolegend_")
            band.set_gid(f"posterior-band:{lv}:{m:g}")
        (line,) = ax.plot(t, s["median"], color=colors[lv], lw=1.4, label=lv)
        line.set_gid(f"posterior:{lv}")


def _legend_handles(masses, with_km: bool):
    grey = "0.35"
    handles = [Line2D([], [], color=grey, lw=1.4, label="Model: posterior median")]
    for k, m in enumerate(masses):
        handles.append(Patch(color=grey, alpha=0.13 + 0.12 * k, lw=0,
                             label=f"{100 * m:g}% credible band"))
    if with_km:
        handles.append(Line2D([], [], color=grey, lw=0.9, ls=(0, (3, 1.5)),
                              label="Kaplan–Meier (observed)"))
    return handles


@styled
def plot_posterior_recovery(curves, km: xr.Dataset | None = None, *, factor: str | None = None,
                            intervals: Sequence[float] = (0.5, 0.95), facets: bool | None = None,
                            ax=None, axes=None, colors=None, width="single",
                            height: float | None = None, title: str | None = None):
    """Posterior recovery curves per level (median, credible bands) over Kaplan–Meier steps.

    Parameters
    ----------
    curves : DataArray or DataFrame
        Draws with dims ``chain, draw, <factor>, <time>`` (e.g.
        :func:`subgroup_recovery_draws`), or the ``recovery_probabilities(times="grid")``
        table (see the module docstring for which curve to compare with Kaplan–Meier).
    km : xarray.Dataset, optional
        :func:`~footdrop_bayes.classical.kaplan_meier` by the same factor; drawn as dashed
        steps in the level's colour.
    factor : str, optional
        The factor (needed when the table holds several).
    intervals : sequence of float
        Credible-band masses for draws (a table carries its own single interval).
    facets : bool, optional
        One small panel per level (default when there are more than two levels) instead
        of all levels on one axes.
    ax, axes : Axes or sequence of Axes, optional
        Where to draw: one axes (overlay) or one per level (facets).
    colors : mapping or sequence, optional
        Level colours (default Okabe–Ito by level position, as in every figure).
    style : bool or mapping, optional
        Journal style on/off or rcParams overrides.

    Returns
    -------
    matplotlib.figure.Figure
    """
    factor, summary = curve_summary(curves, factor, intervals)
    levels = list(summary)
    if km is not None:
        km_levels = [str(v) for v in km[factor].values] if factor in km.dims else levels
        levels = km_levels + [lv for lv in levels if lv not in km_levels]
        levels = [lv for lv in levels if lv in summary]
    cmap = level_colors(levels, colors)
    tdim = km.attrs.get("time_unit", "month") if km is not None else (
        curves.dims[-1] if isinstance(curves, xr.DataArray) else "month")
    masses = _masses(next(iter(summary.values())))
    if facets is None:
        facets = axes is not None or (ax is None and len(levels) > 2)
    if facets:
        if axes is None:
            ncols = min(len(levels), 2 if width == "single" else 4)
            nrows = int(np.ceil(len(levels) / ncols))
            fig = new_figure(width, height if height is not None else 0.6 + 1.55 * nrows)
            axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
            for extra in axes[len(levels):]:
                extra.set_visible(False)
        axes = list(np.atleast_1d(axes))
        fig = axes[0].figure
        for a, lv in zip(axes, levels, strict=False):
            _panel(a, {lv: summary[lv]}, km, factor, lv, cmap)
            a.set_title(lv, fontweight="normal", color=cmap[lv])
        for a in axes[:len(levels)]:
            if a.get_subplotspec() is None or a.get_subplotspec().is_last_row():
                a.set_xlabel(time_label(tdim))
            if a.get_subplotspec() is None or a.get_subplotspec().is_first_col():
                a.set_ylabel("Recovered (%)")
        fig.legend(handles=_legend_handles(masses, km is not None), loc="outside upper left",
                   ncols=2, title=title or label(factor), alignment="left")
        return fig
    if ax is None:
        ax = new_figure(width, height if height is not None else 2.9).add_subplot()
    fig = ax.figure
    _panel(ax, summary, km, factor, None, cmap, levels)
    ax.set_xlabel(time_label(tdim))
    ax.set_ylabel("Recovered (%)")
    place_legend(ax, title or label(factor), "outside")
    leg = ax.get_legend()
    ax.add_artist(leg)
    ax.legend(handles=_legend_handles(masses, km is not None), loc="upper left",
              fontsize="small")
    return fig


def _panel(ax, summary, km, factor, level, cmap, levels=None):
    ax.set_label("posterior_curves")
    if km is not None:
        sub = km if level is None else km.sel({factor: [level]})
        draw_km(ax, sub, colors=cmap, bands=False, censor_marks=False,
                linestyle=(0, (3, 1.5)), label_suffix=" (KM)")
        for line in ax.get_lines():
            line.set_linewidth(0.9)
            line.set_label("_nolegend_")
    draw_posterior_curves(ax, summary, cmap, levels)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PERCENT)


@styled
def plot_posterior_recovery_panels(curves: Mapping[str, object],
                                   kms: Mapping[str, xr.Dataset] | None = None, *,
                                   intervals: Sequence[float] = (0.5, 0.95), ncols: int = 3,
                                   width="double", height: float | None = None):
    """One overlay panel per factor: posterior curves per level over Kaplan–Meier steps.

    Parameters
    ----------
    curves : mapping factor -> DataArray or DataFrame
        As ``curves`` in :func:`plot_posterior_recovery` (a single
        ``recovery_probabilities`` table may be given for every factor).
    kms : mapping factor -> Dataset, optional
        Kaplan–Meier results by each factor.

    Returns
    -------
    matplotlib.figure.Figure
    """
    factors = list(curves)
    ncols = max(1, min(ncols, len(factors)))
    nrows = int(np.ceil(len(factors) / ncols))
    fig = new_figure(width, height if height is not None else 0.5 + 2.3 * nrows)
    axes = fig.subplots(nrows, ncols, sharey=True, squeeze=False).ravel()
    masses = []
    for i, (a, f) in enumerate(zip(axes, factors, strict=False)):
        fac, summary = curve_summary(curves[f], f, intervals)
        km = (kms or {}).get(f)
        levels = list(summary)
        if km is not None:
            levels = [str(v) for v in km[fac].values if str(v) in summary]
        cmap = level_colors(levels)
        _panel(a, summary, km, fac, None, cmap, levels)
        masses = _masses(next(iter(summary.values())))
        a.set_xlabel(time_label(km.attrs.get("time_unit", "month") if km is not None
                                else "month"))
        if i % ncols == 0:
            a.set_ylabel("Recovered (%)")
        place_legend(a, f"{chr(ord('A') + i)}  {label(f)}", "outside")
        a.get_legend().get_title().set_fontweight("bold")
    for extra in axes[len(factors):]:
        extra.set_visible(False)
    if len(factors) < len(axes):
        spare = axes[len(factors)]
        spare.set_visible(True)
        spare.axis("off")
        spare.legend(handles=_legend_handles(masses, bool(kms)), loc="center left")
    else:
        fig.legend(handles=_legend_handles(masses, bool(kms)), loc="outside lower center",
                   ncols=4)
    return fig
