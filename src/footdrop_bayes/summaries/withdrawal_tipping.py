"""Tipping points of the withdrawal sensitivity analysis: the delta at which a
contrast's conclusion changes (see :func:`tipping_points`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ._common import check_times, interval_quantiles
from .withdrawal_deltas import DeltaSpec
from .withdrawal_draws import WithdrawalDraws, _default_time, withdrawal_draws

#: Finite range and step of the fine grid searched for tipping points.
TIPPING_RANGE = (-6.0, 6.0)
TIPPING_STEP = 0.1
TIPPING_COLUMNS = ["term", "level", "reference", "time", "side", "mar_conclusion",
                   "tipping_delta", "hazard_ratio", "conclusion_after", "text"]


def _pairs(w: WithdrawalDraws) -> list[tuple[str, str, str, int, int]]:
    """(factor, level, reference, group index, reference group index) per contrast."""
    out = []
    for f in w.by:
        idx = [g for g, (t, _) in enumerate(w.groups) if t == f]
        ref = idx[0]
        out += [(f, w.groups[g][1], w.groups[ref][1], g, ref) for g in idx[1:]]
    return out


def _status(diff: np.ndarray, interval: float) -> np.ndarray:
    """+1 if the interval of the difference lies above 0, -1 below, 0 if it includes 0.

    ``diff`` has the samples on axis 0.
    """
    lo, hi = interval_quantiles(interval)
    q = np.quantile(diff, [lo, hi], axis=0)
    return np.where(q[0] > 0, 1, np.where(q[1] < 0, -1, 0))


_WORDS = {1: "more often", -1: "less often"}


def tipping_points(model, *, by=None, time: float | None = None, interval: float = 0.95,
                   deltas=None, delta_by: str | None = None, tol: float = 1e-3,
                   draws: WithdrawalDraws | None = None) -> pd.DataFrame:
    """The delta at which each contrast's conclusion changes, on each side of 0.

    The conclusion at a delta is the sign of the difference (level − reference) in
    recovery by ``time`` when its equal-tailed credible interval excludes 0, else "no
    established difference". Starting from delta = 0 (MAR) the fine grid
    ``TIPPING_RANGE`` / ``TIPPING_STEP`` and the infinite ends are searched outwards on
    each side; the first change is refined by bisection to ``tol``.

    Parameters
    ----------
    model : RecoveryModel
    by, interval, deltas, delta_by
        As in :func:`withdrawal_sensitivity` (with ``delta_by``, the levels given a grid
        in ``deltas`` are the ones varied; the grid itself is not used here).
    time : float, optional
        A grid time; default the end of follow-up.
    tol : float
        Precision of the tipping delta.

    Returns
    -------
    DataFrame
        ``withdrawal_tipping_points.csv``: per contrast and ``side`` (``"below"``: delta <
        0, withdrawn recover less; ``"above"``): ``mar_conclusion`` and
        ``conclusion_after`` (``"higher"``, ``"lower"``, ``"no difference"``),
        ``tipping_delta`` (NaN if the conclusion never changes on that side),
        ``hazard_ratio`` = exp(tipping_delta) and a sentence ``text``.
    """
    cohort = model.cohort
    time = float(check_times(time, cohort.grid, [_default_time(cohort)])[0])
    if draws is None or not np.any(np.isclose(draws.times, time)):
        draws = withdrawal_draws(model, _varied_only(deltas, delta_by, [0.0]), by=by,
                                 times=[time], delta_by=delta_by)
    w = draws
    pairs = _pairs(w)
    if not pairs:
        return pd.DataFrame(columns=TIPPING_COLUMNS)
    lo_end, hi_end = TIPPING_RANGE
    fine = np.concatenate([[-np.inf], np.arange(lo_end, hi_end + TIPPING_STEP / 2,
                                                TIPPING_STEP), [np.inf]])
    fine[np.isclose(fine, 0)] = 0.0

    def status(deltas_: np.ndarray) -> np.ndarray:     # (K, contrast)
        v = w.at(deltas_, time)
        v = v.reshape(-1, *v.shape[2:])
        d = np.stack([v[..., g] - v[..., r] for *_, g, r in pairs], axis=-1)
        return _status(d, interval)

    st = status(fine)
    i0 = int(np.flatnonzero(fine == 0)[0])
    searches = []                          # one per (contrast, side): [c, side, a, b, after]
    for c in range(len(pairs)):
        s0 = int(st[i0, c])
        for side, order in (("below", range(i0 - 1, -1, -1)),
                            ("above", range(i0 + 1, len(fine)))):
            prev, hit = i0, None
            for i in order:
                if st[i, c] != s0:
                    hit = i
                    break
                prev = i
            if hit is None:
                searches.append([c, side, np.nan, np.nan, s0])
            else:
                searches.append([c, side, fine[prev], fine[hit], int(st[hit, c])])
    # bisection of every bracket at once: one pass over the draws per halving
    active = [x for x in searches if np.isfinite(x[2]) and np.isfinite(x[3])]
    while active and max(abs(x[3] - x[2]) for x in active) > tol:
        mids = np.array([0.5 * (x[2] + x[3]) for x in active])
        st_mid = status(mids)
        for k, x in enumerate(active):
            s_mid = int(st_mid[k, x[0]])
            if s_mid == int(st[i0, x[0]]):
                x[2] = mids[k]
            else:
                x[3], x[4] = mids[k], s_mid
    rows = []
    for c, side, a, b, after in searches:
        f, lv, ref, _, _ = pairs[c]
        s0 = int(st[i0, c])
        if np.isnan(a):
            tip = np.nan
        elif np.isinf(b):
            tip = a                  # changes only beyond the fine grid: report its end
        else:
            tip = 0.5 * (a + b)
        rows.append({"term": f, "level": lv, "reference": ref, "time": time,
                     "side": side, "mar_conclusion": _verdict(s0),
                     "tipping_delta": tip, "hazard_ratio": float(np.exp(tip)),
                     "conclusion_after": _verdict(after),
                     "text": _tipping_text(f, lv, ref, time, cohort.time_unit, side, s0,
                                           after, tip, w.spec)})
    df = pd.DataFrame(rows, columns=TIPPING_COLUMNS)
    df.attrs["interval"] = float(interval)
    return df


def _varied_only(deltas, delta_by, grid):
    if delta_by is None or not isinstance(deltas, Mapping):
        return grid
    return {k: (grid if np.ndim(v) > 0 else v) for k, v in deltas.items()}


def _verdict(s: int) -> str:
    return {1: "higher", -1: "lower", 0: "no difference"}[int(s)]


def _tipping_text(f, lv, ref, time, unit, side, s0, after, tip, spec: DeltaSpec) -> str:
    who = spec.who()
    when = f"by {time:g} {unit}s"
    if s0 != 0:
        claim = (f"the conclusion that patients with {f} = {lv} recover {_WORDS[s0]} "
                 f"{when} than those with {f} = {ref}")
    else:
        claim = (f"the conclusion of no established difference {when} between {f} = {lv} "
                 f"and {f} = {ref}")
    if np.isnan(tip):
        extreme = ("never recovered after withdrawing" if side == "below"
                   else "recovered right after withdrawing")
        return f"{claim[0].upper()}{claim[1:]} holds even if {who} {extreme}."
    hr = float(np.exp(tip))
    cmp = "less" if side == "below" else "more"
    rate = f"{hr:.2g}" if hr < 10 else f"{hr:.0f}"
    if after == 0:
        then = "the difference is no longer established"
    elif s0 == 0:
        then = (f"patients with {f} = {lv} would be concluded to recover {_WORDS[after]} "
                f"than those with {f} = {ref}")
    else:
        then = "the difference reverses"
    return (f"{claim[0].upper()}{claim[1:]} holds unless {who} recovered at {cmp} than "
            f"{rate} times the rate of comparable patients who stayed (delta = {tip:.2f}); "
            f"beyond it {then}.")
