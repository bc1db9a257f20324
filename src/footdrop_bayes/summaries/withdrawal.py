"""What if withdrawal was not random? Delta-adjusted sensitivity and tipping points.

The public tables. The estimand and its computation are described in
:mod:`footdrop_bayes.summaries.withdrawal_draws`; the delta grid in
:mod:`~footdrop_bayes.summaries.withdrawal_deltas`; tipping points in
:mod:`~footdrop_bayes.summaries.withdrawal_tipping`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._common import check_times, interval_quantiles, model_data, summarise
from .withdrawal_deltas import (  # noqa: F401  (re-exported: the analysis, CLI and tests use them)
    DEFAULT_DELTAS,
    DeltaSpec,
    check_delta_by,
    delta_spec,
    format_delta,
    parse_deltas,
    to_csv,
)
from .withdrawal_draws import WithdrawalDraws, _default_time, _total, withdrawal_draws
from .withdrawal_tipping import (  # noqa: F401
    TIPPING_COLUMNS,
    TIPPING_RANGE,
    TIPPING_STEP,
    _pairs,
    tipping_points,
)

COLUMNS = ["delta", "term", "level", "time", "median", "low", "high"]
DIFF_COLUMNS = ["delta", "term", "level", "reference", "time", "diff_median", "diff_low",
                "diff_high", "p_positive"]
COMPARISON_COLUMNS = ["term", "level", "time", "n", "withdrawn", "excluded",
                      "censored_median", "censored_low", "censored_high", "never_median",
                      "never_low", "never_high", "always_median", "always_low",
                      "always_high"]


# --------------------------------------------------------------------------- tables
def withdrawal_sensitivity(model, deltas=None, *, by: str | Sequence[str] | None = None,
                           times=None, interval: float = 0.95,
                           delta_by: str | None = None,
                           draws: WithdrawalDraws | None = None) -> pd.DataFrame:
    """Recovery probability per level as the post-withdrawal hazard ratio exp(delta) varies.

    Parameters
    ----------
    model : RecoveryModel
        A fitted model.
    deltas : sequence of float, or dict
        Log hazard ratios after withdrawal against the model's hazard (``-inf``: never
        recover after withdrawing; ``0``: MAR, the censored analysis; ``inf``: recover
        right away). Default :data:`DEFAULT_DELTAS`. With ``delta_by``, a dict
        ``{level: grid or fixed delta}``: levels given a grid follow it, levels given a
        number keep it, levels not named stay at 0 (MAR).
    by : str or sequence of str, optional
        Factors (default all of the model's); a row ``term = level = "all"`` is always
        added (the cohort as it is).
    times : sequence of float, "grid" or None
        Grid times; default the end of follow-up.
    interval : float
        Mass of the equal-tailed credible interval.
    delta_by : str, optional
        Factor whose levels get their own delta (e.g. ``"treatment"``).
    draws : WithdrawalDraws, optional
        Already computed draws (from :func:`withdrawal_draws`) to summarise.

    Returns
    -------
    DataFrame
        ``withdrawal_sensitivity.csv``: columns ``delta, term, level, time, median, low,
        high`` (probabilities in [0, 1]; with ``delta_by``, ``delta`` is the varied
        levels' delta). Write it with :func:`to_csv` (delta as ``-inf``, ``0``, ``inf``).
    """
    w = draws or withdrawal_draws(model, deltas, by=by, times=times, delta_by=delta_by)
    med, low, high = summarise(w.values, interval)
    tdim = w.values.dims[3]
    rows = []
    for k, dlt in enumerate(w.spec.grid):
        for g, (term, level) in enumerate(w.groups):
            for j, t in enumerate(w.times):
                sel = {"delta": k, tdim: j, "group": g}
                rows.append({"delta": float(dlt), "term": term, "level": level,
                             "time": float(t), "median": float(med[sel]),
                             "low": float(low[sel]), "high": float(high[sel])})
    df = pd.DataFrame(rows, columns=COLUMNS)
    df.attrs |= {"interval": float(interval), "delta_by": w.spec.factor,
                 "delta_fixed": dict(w.spec.fixed), "delta_varied": list(w.spec.varied)}
    return df


def withdrawal_differences(model, deltas=None, *, by=None, times=None,
                           interval: float = 0.95, delta_by: str | None = None,
                           draws: WithdrawalDraws | None = None) -> pd.DataFrame:
    """Differences in recovery probability (level − reference) as delta varies.

    Parameters as in :func:`withdrawal_sensitivity`.

    Returns
    -------
    DataFrame
        ``withdrawal_differences.csv``: columns ``delta, term, level, reference, time,
        diff_median, diff_low, diff_high, p_positive`` (``p_positive`` = P(difference >
        0)); contrasts are every level against the factor's reference level.
    """
    w = draws or withdrawal_draws(model, deltas, by=by, times=times, delta_by=delta_by)
    vals = w.values.values
    lo, hi = interval_quantiles(interval)
    rows = []
    for f, lv, ref, g, r in _pairs(w):
        diff = (vals[..., g] - vals[..., r]).reshape(-1, len(w.spec.grid), len(w.times))
        q = np.quantile(diff, [0.5, lo, hi], axis=0)
        ppos = (diff > 0).mean(axis=0)
        for k, dlt in enumerate(w.spec.grid):
            for j, t in enumerate(w.times):
                rows.append({"delta": float(dlt), "term": f, "level": lv, "reference": ref,
                             "time": float(t), "diff_median": q[0, k, j],
                             "diff_low": q[1, k, j], "diff_high": q[2, k, j],
                             "p_positive": float(ppos[k, j])})
    df = pd.DataFrame(rows, columns=DIFF_COLUMNS)
    df.attrs["interval"] = float(interval)
    return df


def withdrawal_comparison(model, *, by=None, time: float | None = None,
                          interval: float = 0.95, draws: WithdrawalDraws | None = None
                          ) -> pd.DataFrame:
    """Recovery by ``time`` per level four ways: the study's, censored, and the extremes.

    Returns
    -------
    DataFrame
        ``withdrawal_comparison.csv``: ``term, level, time, n, withdrawn``; ``excluded``:
        the study's way (recovered by ``time`` among patients not withdrawn, observed);
        the model's cohort-averaged probability with withdrawn patients censored
        (``censored_*``, delta = 0, MAR), never recovering after withdrawal
        (``never_*``, delta = -inf) and recovering right after (``always_*``, delta =
        +inf): median, low, high.
    """
    cohort = model.cohort
    time = float(check_times(time, cohort.grid, [_default_time(cohort)])[0])
    w = draws
    if (w is None or w.spec.factor is not None or not np.any(np.isclose(w.times, time))
            or not all(np.any(w.spec.grid == d) for d in (-np.inf, 0.0, np.inf))):
        w = withdrawal_draws(model, [0.0, -np.inf, np.inf], by=by, times=[time])
    j = int(np.argmin(np.abs(w.times - time)))
    med, low, high = summarise(w.values, interval)
    iv = cohort.intervals
    data = model_data(model)
    recovered = (iv["event"].to_numpy(bool)
                 & (iv["first_recovered"].to_numpy(float) <= time + 1e-9))
    gone = iv["withdrawn"].to_numpy(bool)
    rows = []
    for g, (term, level) in enumerate(w.groups):
        at = (np.ones(len(iv), bool) if term == "all"
              else (data[term].astype(str) == level).to_numpy())
        kept = at & ~gone
        n_kept = _total(model, data, kept)
        row = {"term": term, "level": level, "time": time,
               "n": int(np.rint(_total(model, data, at))),
               "withdrawn": int(np.rint(_total(model, data, at & gone))),
               "excluded": (float(_total(model, data, recovered & kept) / n_kept)
                            if kept.any() else np.nan)}
        for name, dlt in (("censored", 0.0), ("never", -np.inf), ("always", np.inf)):
            k = int(np.flatnonzero(w.spec.grid == dlt)[0])
            sel = {"delta": k, w.values.dims[3]: j, "group": g}
            row |= {f"{name}_median": float(med[sel]), f"{name}_low": float(low[sel]),
                    f"{name}_high": float(high[sel])}
        rows.append(row)
    df = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    df.attrs["interval"] = float(interval)
    return df


# --------------------------------------------------------------------------- all of it
@dataclass
class WithdrawalSensitivity:
    """Every table of the withdrawal sensitivity analysis (see :func:`withdrawal_analysis`)."""

    table: pd.DataFrame
    differences: pd.DataFrame
    tipping: pd.DataFrame
    comparison: pd.DataFrame
    interval: float = 0.95

    def write(self, folder) -> list[str]:
        """Write the four CSV files into ``folder``; return their names."""
        from pathlib import Path

        folder = Path(folder)
        names = {"withdrawal_sensitivity": self.table,
                 "withdrawal_differences": self.differences,
                 "withdrawal_tipping_points": self.tipping,
                 "withdrawal_comparison": self.comparison}
        for name, df in names.items():
            to_csv(df, folder / f"{name}.csv")
        return [f"{n}.csv" for n in names]


def withdrawal_analysis(model, deltas=None, *, by=None, times=None, interval: float = 0.95,
                        delta_by: str | None = None) -> WithdrawalSensitivity:
    """Sensitivity table, differences, tipping points and the four-way comparison at once.

    The tables are those of :func:`withdrawal_sensitivity`, :func:`withdrawal_differences`,
    :func:`tipping_points` (at the end of follow-up) and :func:`withdrawal_comparison`;
    the posterior draws are computed once.
    """
    w = withdrawal_draws(model, deltas, by=by, times=times, delta_by=delta_by)
    end = _default_time(model.cohort)
    kw = {"interval": interval, "draws": w}
    return WithdrawalSensitivity(
        table=withdrawal_sensitivity(model, **kw),
        differences=withdrawal_differences(model, **kw),
        tipping=tipping_points(model, by=by, time=end, deltas=deltas, delta_by=delta_by,
                               **kw),
        comparison=withdrawal_comparison(model, by=by, time=end, **kw),
        interval=interval)
