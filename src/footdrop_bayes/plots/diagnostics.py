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
    """
    idata = _idata(idata)
    names = list(var_names) if var_names is not None else main_parameters(idata.posterior)
    if axes is None:
        h = height if height is not None else 0.35 + 0.95 * len(names)
        fig = new_figure(width, h)
        axes = fig.subplots(len(names), 2, squeeze=False)
    fig = np.asarray(axes).ravel()[0].figure
    n_chains = idata.posterior.sizes["chain"]
    if n_chains <= len(PALETTE):
        # the rank panels use the colour cycle; the densities get the same chain colours
        kwargs.setdefault("chain_prop", {"color": PALETTE[:n_chains]})
    size = plt.rcParams["font.size"]
    az.plot_trace(idata, var_names=names, kind=kind, axes=np.asarray(axes), compact=True,
                  combined=False, backend_kwargs={}, plot_kwargs={"linewidth": 0.8},
                  trace_kwargs={"linewidth": 0.5}, **kwargs)
    for a in np.asarray(axes).ravel():
        for loc in ("center", "left"):
            if a.get_title(loc=loc):
                a.set_title(a.get_title(loc=loc), loc=loc, fontsize=size, fontweight="normal")
        a.tick_params(labelsize=plt.rcParams["xtick.labelsize"])
        a.set_label("trace")
    return fig


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
