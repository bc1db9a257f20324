"""Forest plot of hazard ratios: Bayesian posterior intervals beside the Cox estimates.

Inputs are the two tables of the analysis, so hand-made frames work too:

- Bayesian (:func:`footdrop_bayes.summaries.hazard_ratios`): ``term, level, reference,
  hr_median, hr_low, hr_high, p_direction``;
- Cox (:attr:`footdrop_bayes.classical.CoxResult.table`): ``term, level, reference, hr,
  hr_low, hr_high, p_value``.

Each factor gets a header row, its reference level (marked at HR = 1) and one row per
other level; a numeric covariate is one row (``level`` empty, or ``"per 10"``). On every
level row the Bayesian estimate sits just above the Cox estimate. Hazard ratios are for
recovery: above 1 means faster recovery than the reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

from .km import place_legend
from .style import METHOD_COLORS, label, new_figure, styled

BAYES_COLUMNS = ["term", "level", "reference", "hr_median", "hr_low", "hr_high"]
COX_COLUMNS = ["term", "level", "reference", "hr", "hr_low", "hr_high"]


def hr_ticks(lo: float, hi: float) -> list[float]:
    """Readable hazard-ratio ticks for a log axis from ``lo`` to ``hi``."""
    decades = np.log10(hi / lo)
    if decades > 2.3:
        cand = [0.001, 0.01, 0.1, 1, 10, 100, 1000]
    elif decades > 1.1:
        cand = [0.01, 0.1, 0.2, 0.5, 1, 2, 5, 10, 100]
    else:
        cand = [0.125, 0.25, 0.5, 1, 2, 4, 8]
    return [t for t in cand if lo <= t <= hi]


@dataclass
class Row:
    """One row of the forest plot."""

    kind: str          # "header", "reference", "level", "covariate"
    term: str
    level: str | None
    text: str


def _blank(x) -> bool:
    return x is None or (isinstance(x, float) and np.isnan(x)) or str(x) in ("", "nan")


def _check(df: pd.DataFrame | None, columns: list[str], name: str) -> pd.DataFrame | None:
    if df is None:
        return None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name} table lacks columns {missing}; expected {columns}")
    return _normalise(df)


def _normalise(df: pd.DataFrame | None) -> pd.DataFrame | None:
    """Labels as str, empty level/reference (NaN, "", None) as None."""
    if df is None:
        return None
    df = df.reset_index(drop=True).copy()
    df["level"] = [None if _blank(x) else str(x) for x in df["level"]]
    df["reference"] = [None if _blank(x) else str(x) for x in df["reference"]]
    df["term"] = df["term"].astype(str)
    return df


def _unit_text(level: str | None, unit: str | None) -> str:
    if unit is None:
        return "per unit" if level is None else level
    if level is None:
        return f"per {unit}"
    return f"{level} {unit}s" if not unit.endswith("s") else f"{level} {unit}"


def forest_rows(bayes: pd.DataFrame | None, cox: pd.DataFrame | None,
                units: dict | None = None) -> list[Row]:
    """Rows in the order of the tables (Bayesian first, Cox-only terms/levels after)."""
    frames = [_normalise(f) for f in (bayes, cox) if f is not None]
    terms: dict[str, dict] = {}
    for df in frames:
        for r in df.itertuples():
            t = terms.setdefault(r.term, {"reference": None, "levels": [], "covariate": False})
            if r.reference is None:
                t["covariate"] = True
            elif t["reference"] is None:
                t["reference"] = r.reference
            if r.level not in t["levels"]:
                t["levels"].append(r.level)
    rows = []
    for term, t in terms.items():
        if t["covariate"] and t["reference"] is None:
            for lv in t["levels"]:
                unit = _unit_text(lv, (units or {}).get(term))
                rows.append(Row("covariate", term, lv, f"{label(term)} ({unit})"))
            continue
        rows.append(Row("header", term, None, label(term)))
        rows.append(Row("reference", term, t["reference"], f"{t['reference']} (reference)"))
        rows += [Row("level", term, lv, lv) for lv in t["levels"] if lv != t["reference"]]
    return rows


def _lookup(df, row: Row, cols):
    if df is None:
        return None
    m = (df["term"] == row.term) & np.array([lv == row.level for lv in df["level"]])
    if not m.any():
        return None
    r = df.loc[m].iloc[0]
    return tuple(float(r[c]) for c in cols)


def _not_estimable(df, row: Row) -> bool:
    """A Cox row flagged ``estimable = False`` (:mod:`footdrop_bayes.classical.cox_output`)
    or without a finite estimate and interval."""
    if df is None:
        return False
    m = (df["term"] == row.term) & np.array([lv == row.level for lv in df["level"]])
    if not m.any():
        return False
    r = df.loc[m].iloc[0]
    if "estimable" in df.columns and not bool(r["estimable"]):
        return True
    return not np.all(np.isfinite([float(r[c]) for c in ("hr", "hr_low", "hr_high")]))


def _fmt(est, lo, hi) -> str:
    def f(x):
        return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:.0f}"
    return f"{f(est)} ({f(lo)}–{f(hi)})"


def _limits(bayes, cox, xlim):
    if xlim is not None:
        return tuple(float(x) for x in xlim)
    vals = []
    if cox is not None and "estimable" in cox.columns:
        cox = cox[cox["estimable"].astype(bool).to_numpy()]
    for df, cols in ((bayes, ["hr_low", "hr_high"]), (cox, ["hr_low", "hr_high"])):
        if df is not None:
            v = df[cols].to_numpy(float).ravel()
            vals.append(v[np.isfinite(v) & (v > 0)])
    v = np.concatenate(vals) if vals else np.array([1.0])
    lo = min(0.5, 0.85 * float(np.min(v)))
    hi = max(2.0, 1.18 * float(np.max(v)))
    return max(lo, 0.02), min(hi, 50.0)


def _interval(ax, y, est, lo, hi, xlim, color, marker, gid, fill=True):
    lo_c, hi_c = max(lo, xlim[0]), min(hi, xlim[1])
    ax.plot([lo_c, hi_c], [y, y], color=color, lw=1.1, solid_capstyle="butt", gid=gid)
    if lo < xlim[0]:
        ax.plot(xlim[0], y, marker="<", color=color, ms=3.5, gid=f"{gid}:clipped")
    if hi > xlim[1]:
        ax.plot(xlim[1], y, marker=">", color=color, ms=3.5, gid=f"{gid}:clipped")
    if xlim[0] <= est <= xlim[1]:
        ax.plot(est, y, marker=marker, color=color, mfc=color if fill else "white",
                ms=4, mew=0.9, linestyle="none", gid=f"{gid}:estimate")


@styled
def plot_hazard_ratios(bayes: pd.DataFrame | None = None, cox: pd.DataFrame | None = None, *,
                       ax=None, annotate: bool = True, xlim=None, width="single",
                       height: float | None = None, interval: float | None = None,
                       cox_interval: float = 0.95, title: str | None = None,
                       units: dict | None = None,
                       direction_labels: tuple[str, str] | None = ("slower recovery",
                                                                   "faster recovery")):
    """Forest plot of hazard ratios of recovery on a log scale, reference levels marked.

    Parameters
    ----------
    bayes : DataFrame, optional
        ``term, level, reference, hr_median, hr_low, hr_high`` (the
        :func:`~footdrop_bayes.summaries.hazard_ratios` table).
    cox : DataFrame, optional
        ``term, level, reference, hr, hr_low, hr_high`` (``CoxResult.table``); an
        optional ``estimable`` column (``cox_output_table``) marks rows drawn as "not
        estimable" (as are rows without a finite estimate), with a note under the axis.
    ax : matplotlib Axes, optional
        Axes to draw on; default a new figure sized to the number of rows.
    annotate : bool
        Print the estimates with their intervals in a column right of the plot.
    xlim : (float, float), optional
        Hazard-ratio range; intervals beyond it end in an arrow head.
    width, height : str or float
        Size of a new figure (``"single"`` 3.5 in, ``"double"`` 7.2 in).
    interval : float, optional
        Mass of the Bayesian interval for the legend (default ``bayes.attrs["interval"]``
        or 0.95); ``cox_interval`` the confidence level of the Cox intervals.
    units : mapping, optional
        Unit name per numeric covariate for its row label, e.g. ``{"age": "year"}`` gives
        "Age (per year)" (or "Age (per 10 years)" for a ``"per 10"`` row).
    direction_labels : (str, str) or None
        Texts under the axis left and right of HR = 1.
    style : bool or mapping, optional
        Journal style on/off or rcParams overrides.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if bayes is None and cox is None:
        raise ValueError("give a Bayesian and/or a Cox hazard-ratio table")
    if interval is None:
        interval = float(bayes.attrs.get("interval", 0.95)) if bayes is not None else 0.95
    bayes = _check(bayes, BAYES_COLUMNS, "Bayesian hazard-ratio")
    cox = _check(cox, COX_COLUMNS, "Cox")
    rows = forest_rows(bayes, cox, units)
    both = bayes is not None and cox is not None
    if ax is None:
        h = height if height is not None else 0.75 + len(rows) * (0.25 if both else 0.165)
        ax = new_figure(width, h).add_subplot()
    fig = ax.figure
    ax.set_label("forest")
    lim = _limits(bayes, cox, xlim)
    dodge = 0.22 if both else 0.0
    ax.set_xscale("log")
    ax.axvline(1.0, color="0.45", lw=0.7, ls=(0, (3, 2)), zorder=0)
    yticks, ylabels = [], []
    unestimable: list[Row] = []
    for y, row in enumerate(rows):
        yticks.append(y)
        ylabels.append(row.text if row.kind in ("header", "covariate") else f"  {row.text}")
        if row.kind == "header":
            continue
        if row.kind == "reference":
            ax.plot(1.0, y, marker="D", ms=3.5, mfc="white", mec="0.3", mew=0.8,
                    linestyle="none", gid=f"reference:{row.term}")
            continue
        texts = []
        b = _lookup(bayes, row, ["hr_median", "hr_low", "hr_high"])
        if b is not None:
            _interval(ax, y - dodge, *b, lim, METHOD_COLORS["bayes"], "o",
                      f"bayes:{row.term}:{row.level}")
            texts.append((y - dodge, _fmt(*b), METHOD_COLORS["bayes"]))
        c = _lookup(cox, row, ["hr", "hr_low", "hr_high"])
        if c is not None and _not_estimable(cox, row):
            unestimable.append(row)
            texts.append((y + dodge, "not estimable", METHOD_COLORS["cox"]))
        elif c is not None:
            _interval(ax, y + dodge, *c, lim, METHOD_COLORS["cox"], "s",
                      f"cox:{row.term}:{row.level}", fill=False)
            texts.append((y + dodge, _fmt(*c), METHOD_COLORS["cox"]))
        if annotate:
            for ty, txt, col in texts:
                ax.annotate(txt, xy=(1.0, ty), xycoords=("axes fraction", "data"),
                            xytext=(6, 0), textcoords="offset points", va="center",
                            ha="left", color=col, fontsize="small", gid="hr-text")
    ax.set_ylim(len(rows) - 0.5, -0.7)
    ax.set_yticks(yticks, ylabels)
    ax.tick_params(axis="y", length=0)
    for tick, row in zip(ax.get_yticklabels(), rows, strict=True):
        if row.kind == "header":
            tick.set_fontweight("bold")
        if row.kind == "reference":
            tick.set_color("0.35")
    ax.spines["left"].set_visible(False)
    ax.set_xlim(*lim)
    ax.xaxis.set_major_locator(FixedLocator(hr_ticks(*lim)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("Hazard ratio of recovery (log scale)")
    if direction_labels:
        kw = {"xycoords": ("data", "axes fraction"), "textcoords": "offset points",
              "fontsize": "small", "color": "0.35", "va": "top", "gid": "direction"}
        ax.annotate(f"← {direction_labels[0]}", xy=(1.0, 1), xytext=(-4, -1), ha="right",
                    **kw)
        ax.annotate(f"{direction_labels[1]} →", xy=(1.0, 1), xytext=(4, -1), ha="left",
                    **kw)
    handles = []
    if bayes is not None:
        (h,) = ax.plot([], [], color=METHOD_COLORS["bayes"], marker="o", ms=4,
                       label=f"Bayesian: median, {100 * interval:g}% CrI")
        handles.append(h)
    if cox is not None:
        (h,) = ax.plot([], [], color=METHOD_COLORS["cox"], marker="s", mfc="white", ms=4,
                       label=f"Cox: estimate, {100 * cox_interval:g}% CI")
        handles.append(h)
    place_legend(ax, None, "outside")
    if unestimable:
        ax.annotate("Cox 'not estimable': no finite estimate (e.g. a level, or its "
                    "reference, without recoveries).", xy=(0, 0), xycoords="axes fraction",
                    xytext=(0, -30), textcoords="offset points", va="top", ha="left",
                    fontsize="x-small", color="0.35", gid="not-estimable-note")
    if title:
        ax.set_title(title)
    return fig
