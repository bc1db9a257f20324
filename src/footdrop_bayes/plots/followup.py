"""Recovery by the end of follow-up per level: model, Kaplan–Meier and the study's way.

Three estimates per level, one above the other:

- **model**: posterior median and credible interval (``summaries.recovery_probabilities``:
  ``term, level, time, median, low, high`` and, when computed, ``km, km_low, km_high``);
- **Kaplan–Meier**: censoring-aware observed proportion with its confidence interval
  (``km*`` columns of that table, or ``percent_km*`` of the study table);
- **study-style**: percent recovered among patients not withdrawn (the original study's
  analysis, which drops everyone lost to follow-up): the ``classical.study_table``
  column ``percent_excluding_withdrawn`` or ``datasets.study_style_marginals``'
  ``recovered_percent``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MultipleLocator

from .style import METHOD_COLORS, label, new_figure, styled

PROB_COLUMNS = ["term", "level", "time", "median", "low", "high"]


def _study_frame(study: pd.DataFrame | None) -> pd.DataFrame | None:
    """Study-style percentages as columns ``term, level, percent`` (+ ``km*`` if given)."""
    if study is None:
        return None
    df = study.reset_index() if isinstance(study.index, pd.MultiIndex) else study.copy()
    df = df.rename(columns={"factor": "term"})
    col = next((c for c in ("percent_excluding_withdrawn", "recovered_percent")
                if c in df.columns), None)
    if col is None or "term" not in df.columns or "level" not in df.columns:
        raise ValueError("study table needs factor/term, level and percent_excluding_withdrawn "
                         "(classical.study_table) or recovered_percent "
                         "(datasets.study_style_marginals)")
    out = pd.DataFrame({"term": df["term"].astype(str), "level": df["level"].astype(str),
                        "percent": df[col].astype(float)})
    for c in ("percent_km", "percent_km_low", "percent_km_high"):
        if c in df.columns:
            out[c] = df[c].astype(float).to_numpy()
    out.loc[out["term"] == "overall", "term"] = "all"
    return out


def _value(df, term, level, col):
    if df is None or col not in df.columns:
        return np.nan
    m = (df["term"] == term) & (df["level"] == level)
    return float(df.loc[m, col].iloc[0]) if m.any() else np.nan


def _n(p: pd.DataFrame, term: str, level: str) -> str:
    if "n" not in p.columns:
        return ""
    n = p.loc[(p["term"] == term) & (p["level"] == level), "n"]
    return f" (n = {int(n.iloc[0])})" if len(n) else ""


@styled
def plot_recovery_at_followup(probabilities: pd.DataFrame, study: pd.DataFrame | None = None,
                              *, time: float | None = None, terms=None, ax=None,
                              width="single", height: float | None = None,
                              interval: float | None = None, km_interval: float | None = None,
                              title: str | None = None, time_unit: str = "month"):
    """Percent recovered by the end of follow-up per level: model, Kaplan–Meier, study-style.

    Parameters
    ----------
    probabilities : DataFrame
        ``summaries.recovery_probabilities`` table (any times; ``time`` picks one).
    study : DataFrame, optional
        ``classical.study_table`` (indexed by factor, level) or
        ``datasets.study_style_marginals``; adds the study-style percentages (and the
        Kaplan–Meier values when the probabilities table has none).
    time : float, optional
        Time shown; default the latest time in ``probabilities``.
    terms : sequence of str, optional
        Factors shown, in order (default all in the table; the ``all`` row first).
    time_unit : str
        Unit of ``time`` for the axis label (``cohort.time_unit``).
    interval, km_interval : float, optional
        Interval masses for the legend (default ``probabilities.attrs["interval"]``).
    style : bool or mapping, optional
        Journal style on/off or rcParams overrides.

    Returns
    -------
    matplotlib.figure.Figure
    """
    missing = [c for c in PROB_COLUMNS if c not in probabilities.columns]
    if missing:
        raise ValueError(f"probabilities table lacks columns {missing}; expected {PROB_COLUMNS}")
    if interval is None:
        interval = float(probabilities.attrs.get("interval", 0.95))
    km_interval = interval if km_interval is None else km_interval
    time = float(probabilities["time"].max()) if time is None else float(time)
    p = probabilities[np.isclose(probabilities["time"].astype(float), time)].copy()
    if p.empty:
        raise ValueError(f"no rows at time {time:g}; the table has times "
                         f"{sorted(probabilities['time'].unique())}")
    p["term"], p["level"] = p["term"].astype(str), p["level"].astype(str)
    st = _study_frame(study)
    order = list(pd.unique(p["term"])) if terms is None else ["all", *terms]
    order = ["all"] + [t for t in order if t != "all"] if "all" in set(p["term"]) else order
    rows = []  # (kind, term, level, text)
    for term in order:
        levels = list(pd.unique(p.loc[p["term"] == term, "level"]))
        if not levels:
            continue
        if term == "all":
            rows.append(("level", term, "all", f"All patients{_n(p, term, 'all')}"))
            continue
        rows.append(("header", term, None, label(term)))
        rows += [("level", term, lv, f"  {lv}{_n(p, term, lv)}") for lv in levels]
    has_km = "km" in p.columns or (st is not None and "percent_km" in st.columns)
    n_methods = 1 + has_km + (st is not None)
    if ax is None:
        h = height if height is not None else 0.8 + 0.16 * len(rows) * (1 + 0.15 * n_methods)
        ax = new_figure(width, h).add_subplot()
    fig = ax.figure
    ax.set_label("followup")
    methods = ["model"] + (["km"] if has_km else []) + (["study"] if st is not None else [])
    offsets = dict(zip(methods, np.linspace(-0.22, 0.22, n_methods) if n_methods > 1
                       else [0.0], strict=True))
    for y, (kind, term, lv, _) in enumerate(rows):
        if kind == "header":
            continue
        r = p[(p["term"] == term) & (p["level"] == lv)].iloc[0]
        yy = y + offsets["model"]
        ax.plot([100 * r["low"], 100 * r["high"]], [yy, yy], color=METHOD_COLORS["bayes"],
                lw=1.2, solid_capstyle="butt", gid=f"model:{term}:{lv}")
        ax.plot(100 * r["median"], yy, "o", color=METHOD_COLORS["bayes"], ms=4, clip_on=False)
        if has_km:
            if "km" in p.columns:
                k = 100 * np.array([r["km"], r["km_low"], r["km_high"]], float)
            else:
                k = np.array([_value(st, term, lv, c) for c in
                              ("percent_km", "percent_km_low", "percent_km_high")])
            if np.isfinite(k[0]):
                yy = y + offsets["km"]
                ax.plot(k[1:], [yy, yy], color=METHOD_COLORS["km"], lw=0.9,
                        solid_capstyle="butt", gid=f"km:{term}:{lv}")
                ax.plot(k[0], yy, "s", color=METHOD_COLORS["km"], mfc="white", ms=3.8,
                        mew=0.9, clip_on=False)
        if st is not None:
            s = _value(st, term, lv, "percent")
            if np.isfinite(s):
                ax.plot(s, y + offsets["study"], marker="D", color=METHOD_COLORS["study"],
                        ms=3.4, linestyle="none", gid=f"study:{term}:{lv}", clip_on=False)
    ax.set_yticks(range(len(rows)), [r[3] for r in rows])
    for tick, r in zip(ax.get_yticklabels(), rows, strict=True):
        if r[0] == "header" or r[1] == "all":
            tick.set_fontweight("bold")
    ax.set_ylim(len(rows) - 0.5, -0.6)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    ax.set_xlim(0, 100)
    ax.xaxis.set_major_locator(MultipleLocator(25))
    ax.xaxis.set_minor_locator(MultipleLocator(5))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:.0f}"))
    ax.grid(axis="x", color="0.9", lw=0.5)
    ax.set_xlabel(f"Recovered by {time:g} {time_unit}s (%)")
    handles = [Line2D([], [], color=METHOD_COLORS["bayes"], marker="o", ms=4,
                      label=f"Model (cohort-averaged): median, {100 * interval:g}% CrI")]
    if has_km:
        handles.append(Line2D([], [], color=METHOD_COLORS["km"], marker="s", mfc="white",
                              ms=3.8, lw=0.9,
                              label=f"Kaplan–Meier, {100 * km_interval:g}% CI"))
    if st is not None:
        handles.append(Line2D([], [], color=METHOD_COLORS["study"], marker="D", ms=3.4,
                              lw=0, label="Study-style (withdrawn excluded)"))
    # anchored at the right: the legend extends left over the free space above the labels
    ax.legend(handles=handles, loc="lower right", bbox_to_anchor=(1, 1.01), ncols=1,
              borderaxespad=0, alignment="left")
    if title:
        ax.set_title(title)
    return fig
