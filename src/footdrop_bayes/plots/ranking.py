"""Factor ranking: posterior importance intervals per term, and rank probabilities.

Inputs are the summaries' tables (hand-made frames work too):

- :func:`footdrop_bayes.summaries.factor_ranking`: ``term, importance_median,
  importance_low, importance_high, p_rank1, expected_rank``;
- :func:`footdrop_bayes.summaries.rank_distribution`: probabilities with dims
  ``term, rank`` (an xarray DataArray, or a DataFrame indexed by term, one column per rank).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from .style import METHOD_COLORS, label, new_figure, styled

RANKING_COLUMNS = ["term", "importance_median", "importance_low", "importance_high",
                   "p_rank1", "expected_rank"]


def _ranking(df: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in RANKING_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"ranking table lacks columns {missing}; expected {RANKING_COLUMNS}")
    return df.sort_values(["expected_rank", "p_rank1"], ascending=[True, False],
                          kind="stable").reset_index(drop=True)


def rank_frame(probabilities) -> pd.DataFrame:
    """Rank probabilities as a DataFrame: index term, columns rank 1..K."""
    if isinstance(probabilities, xr.DataArray):
        da = probabilities.transpose("term", "rank")
        return pd.DataFrame(da.values, index=[str(t) for t in da["term"].values],
                            columns=[int(r) for r in da["rank"].values])
    df = pd.DataFrame(probabilities).copy()
    df.index = [str(t) for t in df.index]
    df.columns = [int(c) for c in df.columns]
    return df


def _draw_ranking(ax, df: pd.DataFrame, interval: float, annotate: bool) -> None:
    y = np.arange(len(df))
    color = METHOD_COLORS["bayes"]
    for k, r in enumerate(df.itertuples()):
        ax.plot([r.importance_low, r.importance_high], [k, k], color=color, lw=1.3,
                solid_capstyle="butt", gid=f"importance:{r.term}")
        ax.plot(r.importance_median, k, "o", color=color, ms=4,
                gid=f"importance:{r.term}:median")
        if annotate:
            text = f"{r.p_rank1:.2f}" if r.p_rank1 >= 0.005 else "<0.01"
            ax.annotate(text, xy=(1.0, k), xycoords=("axes fraction", "data"),
                        xytext=(8, 0), textcoords="offset points", ha="left", va="center",
                        gid="p-rank1")
    if annotate:
        ax.annotate("P(rank 1)", xy=(1.0, 1.0), xycoords="axes fraction", xytext=(8, 2),
                    textcoords="offset points", ha="left", va="bottom", fontweight="bold",
                    fontsize="small")
    ax.set_yticks(y, [label(t) for t in df["term"]])
    ax.set_ylim(len(df) - 0.5, -0.6)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    ax.set_xlim(0, None)
    ax.set_xlabel("Importance (SD of log hazard ratio across patients)")
    ax.grid(axis="x", color="0.9", lw=0.5)
    ax.set_label("ranking")


def _draw_heatmap(ax, probs: pd.DataFrame, annotate: bool, cmap: str):
    im = ax.imshow(probs.to_numpy(float), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    im.set_gid("rank-probabilities")
    n_t, n_r = probs.shape
    if annotate:
        for i in range(n_t):
            for j in range(n_r):
                p = probs.iat[i, j]
                ax.text(j, i, f"{p:.2f}" if p >= 0.005 else "·", ha="center", va="center",
                        fontsize="small", color="white" if p > 0.55 else "0.15",
                        gid="rank-probability")
    ax.set_xticks(range(n_r), [str(r) for r in probs.columns])
    ax.set_yticks(range(n_t), [label(t) for t in probs.index])
    ax.set_xlabel("Rank (1 = most important)")
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    ax.set_label("rank_heatmap")
    return im


@styled
def plot_factor_ranking(ranking: pd.DataFrame, rank_probabilities=None, *, axes=None,
                        annotate: bool = True, width=None, height: float | None = None,
                        interval: float | None = None, cmap: str = "Blues"):
    """Posterior importance of each term, ordered by expected rank, with P(rank = 1).

    Parameters
    ----------
    ranking : DataFrame
        ``term, importance_median, importance_low, importance_high, p_rank1,
        expected_rank`` (:func:`~footdrop_bayes.summaries.factor_ranking`).
    rank_probabilities : DataArray or DataFrame, optional
        ``term x rank`` probabilities; adds a heat-map panel (same term order).
    axes : Axes or sequence of two Axes, optional
        Where to draw (the second for the heat map).
    annotate : bool
        Print P(rank = 1) right of each interval (and the probabilities in the heat map).
    width, height : str or float, optional
        Figure size; default single column, double with the heat map.
    interval : float, optional
        Interval mass for the caption line (default ``ranking.attrs["interval"]`` or 0.95).
    style : bool or mapping, optional
        Journal style on/off or rcParams overrides.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if interval is None:
        interval = float(ranking.attrs.get("interval", 0.95))
    df = _ranking(ranking)
    heat = rank_probabilities is not None
    if axes is None:
        w = width if width is not None else ("double" if heat else "single")
        h = height if height is not None else 0.9 + 0.26 * len(df)
        fig = new_figure(w, h)
        axes = fig.subplots(1, 2, width_ratios=[1.25, 1]) if heat else [fig.add_subplot()]
    axes = list(np.atleast_1d(axes))
    fig = axes[0].figure
    _draw_ranking(axes[0], df, interval, annotate)
    axes[0].set_title(f"Importance: median, {100 * interval:g}% CrI", fontweight="normal",
                      fontsize="small")
    if heat:
        probs = rank_frame(rank_probabilities).reindex([str(t) for t in df["term"]])
        _draw_heatmap(axes[1], probs, annotate, cmap)
        axes[1].set_title("Posterior probability of each rank", fontweight="normal",
                          fontsize="small")
    return fig


@styled
def plot_rank_probabilities(rank_probabilities, *, order=None, ax=None, annotate: bool = True,
                            width="single", height: float | None = None,
                            cmap: str = "Blues", colorbar: bool = False):
    """Heat map of the posterior probability of each term holding each rank.

    Parameters
    ----------
    rank_probabilities : DataArray or DataFrame
        ``term x rank`` probabilities (:func:`~footdrop_bayes.summaries.rank_distribution`).
    order : sequence of str, optional
        Term order top to bottom (default by expected rank).
    colorbar : bool
        Add a colour bar (the printed probabilities usually make it redundant).

    Returns
    -------
    matplotlib.figure.Figure
    """
    probs = rank_frame(rank_probabilities)
    if order is None:
        expected = (probs * np.asarray(probs.columns, float)).sum(axis=1)
        order = list(expected.sort_values(kind="stable").index)
    probs = probs.reindex([str(t) for t in order])
    if ax is None:
        ax = new_figure(width, height if height is not None
                        else 0.8 + 0.26 * len(probs)).add_subplot()
    im = _draw_heatmap(ax, probs, annotate, cmap)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, label="Probability", shrink=0.8)
    return ax.figure
