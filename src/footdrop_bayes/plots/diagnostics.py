"""Sampler diagnostics: rank/trace plots and the energy plot (ArviZ, in our style).

- :func:`plot_trace`: per parameter, the posterior density by chain (left) and the rank
  plot (right, ``kind="rank_vlines"`` or ``"rank_bars"``; ``"trace"`` for the classic
  trace). Well-mixed chains give flat, overlapping rank distributions (Vehtari et al.
  2021); divergent transitions are marked on the x axis.
- :func:`plot_energy`: marginal energy and energy-transition distributions; a transition
  distribution much narrower than the marginal one (low E-BFMI) means the sampler
  explores the tails poorly.
"""

from __future__ import annotations

from collections.abc import Sequence

import arviz as az
import matplotlib.pyplot as plt
import numpy as np

from .style import PALETTE, figure_width, new_figure, styled


def _idata(obj):
    return obj.idata if hasattr(obj, "idata") else obj


def main_parameters(posterior) -> list[str]:
    """The parameters worth a diagnostic plot: baseline, scales, covariate effects.

    Baseline log hazards ``alpha``, the smoothing/shrinkage scales (``tau``,
    ``sigma_rw``, every ``sigma_*``) and ``beta``; level effects are left to ``var_names``.
    """
    names = [v for v in ("alpha", "tau", "sigma_rw") if v in posterior]
    names += [v for v in posterior.data_vars if v.startswith("sigma_") and v not in names]
    names += [v for v in ("beta",) if v in posterior]
    return names or list(posterior.data_vars)[:6]


@styled
def plot_trace(idata, var_names: Sequence[str] | None = None, *, kind: str = "rank_vlines",
               axes=None, width="double", height: float | None = None, **kwargs):
    """Posterior density per chain and rank (or trace) plot of the main parameters.

    Parameters
    ----------
    idata : InferenceData or RecoveryModel
        A fitted model or its ``idata``.
    var_names : sequence of str, optional
        Parameters (default :func:`main_parameters`); vector parameters share one row.
    kind : {"rank_vlines", "rank_bars", "trace"}
        Right-hand panels (ArviZ ``plot_trace(kind=...)``).
    axes : array of Axes, shape (n_vars, 2), optional
        Where to draw.
    **kwargs
        Passed to :func:`arviz.plot_trace`.
    style : bool or mapping, optional
        Journal style on/off or rcParams overrides.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    The default (``kind="rank_vlines"``, no ``kwargs``) is drawn here, as ArviZ draws it
    (per chain a density of every element of the parameter; per element the rank
    histogram of each chain over all chains' draws, ``2 log2(draws) + 1`` bins, as
    vertical lines from the uniform level; divergent transitions marked under the
    densities) but with one line collection (and one set of markers) per element
    instead of one artist per element, chain and bin, and the shared rank scale
    labelled once: on the bundled cohort's 9 rows the figure took 3.2 s of CPU to draw
    and write (2.2-2.4 s now), most of it matplotlib's per-artist overhead. The other kinds,
    and any ArviZ option, go through :func:`arviz.plot_trace`.
    """
    idata = _idata(idata)
    names = list(var_names) if var_names is not None else main_parameters(idata.posterior)
    if axes is None:
        h = height if height is not None else 0.35 + 0.95 * len(names)
        fig = new_figure(width, h)
        axes = fig.subplots(len(names), 2, squeeze=False)
    axes = np.asarray(axes).reshape(len(names), 2)
    fig = axes[0, 0].figure
    n_chains = idata.posterior.sizes["chain"]
    colors = PALETTE[:n_chains] if n_chains <= len(PALETTE) else \
        [f"C{i}" for i in range(n_chains)]
    if kind == "rank_vlines" and not kwargs:
        _rank_trace(idata, names, axes, colors)
    else:
        if n_chains <= len(PALETTE):
            # the rank panels use the colour cycle; the densities get the same colours
            kwargs.setdefault("chain_prop", {"color": colors})
        az.plot_trace(idata, var_names=names, kind=kind, axes=axes, compact=True,
                      combined=False, backend_kwargs={}, plot_kwargs={"linewidth": 0.8},
                      trace_kwargs={"linewidth": 0.5}, **kwargs)
    size = plt.rcParams["font.size"]
    for a in axes.ravel():
        for loc in ("center", "left"):
            if a.get_title(loc=loc):
                a.set_title(a.get_title(loc=loc), loc=loc, fontsize=size, fontweight="normal")
        a.tick_params(labelsize=plt.rcParams["xtick.labelsize"])
        a.set_label("trace")
    return fig


def _rank_trace(idata, names: list[str], axes: np.ndarray, colors: list) -> None:
    """Densities by chain (left) and rank vlines by chain (right), few artists."""
    post = idata.posterior
    n_chains, n_draws = post.sizes["chain"], post.sizes["draw"]
    bins = int(np.ceil(2 * np.log2(n_draws)) + 1)         # ArviZ's Sturges rule, x2
    stats = getattr(idata, "sample_stats", None)
    diverging = (stats["diverging"].values.astype(bool)
                 if stats is not None and "diverging" in stats else None)
    for row, name in enumerate(names):
        values = post[name].values.reshape(n_chains, n_draws, -1)
        left, right = axes[row]
        _densities(left, values, colors, diverging)
        _rank_vlines(right, values, colors, bins)
        left.set_title(name, loc="left")
        right.set_title(name, loc="left")
    for ax in axes[:-1, 1]:             # one rank scale: labelled once, at the bottom
        ax.tick_params(labelbottom=False)
    axes[-1, 1].set_xlabel("Rank (all chains)")
    engine = axes[0, 0].figure.get_layout_engine()
    if engine is not None and hasattr(engine, "set"):
        engine.set(hspace=0.12)          # each title nearer its own panel than the last


def _densities(ax, values: np.ndarray, colors: list, diverging) -> None:
    """Per element, the KDE of each chain (one line collection per element, chains in
    order, as ArviZ interleaves them); divergent draws marked under the curves."""
    from matplotlib.collections import LineCollection

    n_chains = values.shape[0]
    for k in range(values.shape[2]):
        curves = [np.column_stack(az.kde(values[c, :, k])) for c in range(n_chains)]
        ax.add_collection(LineCollection(curves, colors=colors, linewidths=0.8))
    ax.autoscale_view()
    top = ax.get_ylim()[1]
    ax.set_ylim(0, top)
    ax.set_yticks([])
    if diverging is not None and diverging.any():
        ax.set_ylim(-0.08 * top, top)              # room for the marks inside the axes
        marks = values[diverging].ravel()
        ax.plot(marks, np.full(marks.shape, -0.04 * top), marker="|", color="black",
                markeredgewidth=1.0, markersize=5, linestyle="none", zorder=0.6)


def _rank_vlines(ax, values: np.ndarray, colors: list, bins: int) -> None:
    """Per element, each chain's rank histogram (density over all chains' draws) as
    vertical lines from the uniform level; markers at their ends."""
    from matplotlib.collections import LineCollection
    from scipy.stats import rankdata

    n_chains, n_draws, n_elements = values.shape
    dens = np.empty((n_elements, n_chains, bins))
    for k in range(n_elements):
        ranks = rankdata(values[:, :, k], method="average").reshape(n_chains, n_draws)
        edges = np.histogram_bin_edges(ranks, bins=bins, range=(0, ranks.size))
        for c in range(n_chains):
            counts, _ = np.histogram(ranks[c], bins=edges)
            dens[k, c] = counts / (counts.sum() * np.diff(edges))
    centres = (edges[1:] + edges[:-1]) / 2
    level = dens.mean()
    chain_of = np.repeat(np.arange(n_chains), bins)            # one element's points
    for k in range(n_elements):        # element by element, chains in order (as ArviZ)
        heights = dens[k].ravel()
        xs = np.tile(centres, n_chains)
        segments = np.stack([np.column_stack([xs, np.full(xs.shape, level)]),
                             np.column_stack([xs, heights])], axis=1)
        point_colors = [colors[c] for c in chain_of]
        ax.add_collection(LineCollection(segments, colors=point_colors, linewidths=2))
        ax.scatter(xs, heights, c=point_colors, s=plt.rcParams["lines.markersize"] ** 2,
                   linewidths=0, zorder=2.1)
    ax.axhline(level, linestyle="--", color="k")
    ax.set_xlim(edges[0] - 0.02 * edges[-1], edges[-1] * 1.02)
    ax.set_ylim(0, 2 * level)
    ax.set_yticks([])


@styled
def plot_energy(idata, *, ax=None, width="single", height: float | None = None, **kwargs):
    """Energy plot: marginal energy vs energy transitions, with E-BFMI per chain.

    Parameters
    ----------
    idata : InferenceData or RecoveryModel
        A fitted model (or its ``idata``) with ``energy`` in ``sample_stats``.
    ax : Axes, optional
    **kwargs
        Passed to :func:`arviz.plot_energy`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    idata = _idata(idata)
    if ax is None:
        ax = new_figure(width, height if height is not None
                        else 0.7 * figure_width(width)).add_subplot()
    kwargs.setdefault("fill_color", (PALETTE[4], PALETTE[1]))
    kwargs.setdefault("fill_alpha", (0.55, 0.55))
    az.plot_energy(idata, ax=ax, kind="kde", legend=False, textsize=plt.rcParams["font.size"],
                   **kwargs)
    ax.set_label("energy")
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.set_xlabel("Energy (centred)")
    ax.legend(loc="upper right", fontsize="small")
    for line in ax.get_lines():
        line.set_linewidth(0.9)
    return ax.figure
