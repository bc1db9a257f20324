r"""What if withdrawal was not random? Delta-adjusted sensitivity and tipping points.

A withdrawn patient contributes only "not recovered at the last visit" to the likelihood,
so how they would have fared afterwards is not identified by the data: the library's
analysis (censoring them) assumes they recover at the model's rate, i.e. withdrawal is
*missing at random* (MAR). Here that assumption is varied. After withdrawal at
:math:`t_w` (the last visit) a withdrawn patient's hazard is the model's hazard times
:math:`e^{\delta}`:

- :math:`\delta = 0`: the MAR analysis (the patient is censored at :math:`t_w`);
- :math:`\delta = -\infty`: withdrawn patients never recover after withdrawing;
- :math:`\delta = +\infty`: they recover right after withdrawing;
- :math:`\delta = \log 0.5`: they recover at half the rate of comparable patients who stay.

**Estimand**: the probability of recovery by time :math:`T` (default the end of
follow-up) had every patient been followed to :math:`T`, per factor level averaged over
the cohort, exactly as in :func:`~footdrop_bayes.summaries.recovery_probabilities`.

**Computation** (per posterior draw :math:`s`; the posterior does not depend on
:math:`\delta`). Given unrecovered at :math:`t_w`, the probability that a withdrawn
patient recovers by :math:`T > t_w` is

.. math::

    c_{i,s}(\delta) = 1 - \exp\{-e^{\delta}\,[H_{i,s}(T) - H_{i,s}(t_{w,i})]\},

with :math:`H_{i,s}(t) = H_{0,s}(t) e^{\eta_{i,s}}`. For level :math:`l` of a factor,

.. math::

    P_{l,s}(\delta) = G_{l,s} + \frac{1}{n_l} \sum_{i \in l,\ \text{withdrawn}}
        [c_{i,s}(\delta) - c_{i,s}(0)],

clipped to [0, 1], where :math:`G_{l,s}` is the g-computation of
:func:`~footdrop_bayes.summaries.recovery_probabilities` (every patient set to
:math:`l`, averaged over the cohort) and the sum runs over the withdrawn patients *at
level* :math:`l` (:math:`n_l` patients at the level; for the row ``all``, every withdrawn
patient over :math:`n`). The MAR analysis credits each withdrawn patient with
:math:`c_{i,s}(0)` expected recoveries after withdrawal; the adjustment replaces them by
:math:`c_{i,s}(\delta)`. Hence :math:`\delta = 0` reproduces
``recovery_probabilities`` draw by draw, :math:`P` is non-decreasing in :math:`\delta`,
and :math:`\delta = -\infty` removes every post-withdrawal recovery the MAR analysis
assumed. The adjustment uses each level's *own* withdrawn patients, so withdrawal that
differs between arms moves the arms differently (a g-computation that gave every patient
every level would spread one arm's withdrawals over all arms). For a randomised factor
:math:`G_l` and the level's own patients describe the same population; for a
non-randomised factor the adjustment is that of the patients actually at the level.

**Differences** between a level and the factor's reference level are taken draw by draw
at every :math:`\delta`. The **tipping point** of a contrast is the :math:`\delta` nearest
0 (searched on each side) at which the conclusion at :math:`\delta = 0` changes: the
equal-tailed credible interval of the difference stops excluding 0 (or, when it includes
0 under MAR, starts to exclude it). It is found on a fine grid and refined by bisection.

With ``delta_by`` the assumption can differ by level of one factor (e.g. only withdrawn
patients of one treatment arm recover less; the others stay at MAR).

References: ICH E9(R1) addendum on estimands and sensitivity analysis (2019); Jackson,
White, Seaman, Evans, Baisley & Carpenter (2014), *Relaxing the independent censoring
assumption in the Cox proportional hazards model using multiple imputation*, Stat Med
33:4681–94 (R package InformativeCensoring); the R package tipse (tipping-point
analyses).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from ..model.predictive import cumulative_baseline
from ._common import check_times, interval_quantiles, model_data, summarise

#: Default grid of delta (log hazard ratio after withdrawal vs the model's hazard).
DEFAULT_DELTAS = (-np.inf, -3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0, np.inf)
#: Finite range and step of the fine grid searched for tipping points.
TIPPING_RANGE = (-6.0, 6.0)
TIPPING_STEP = 0.1
#: Upper bound on the number of (sample x profile x time) values evaluated at once.
MAX_BLOCK = 2_000_000
COLUMNS = ["delta", "term", "level", "time", "median", "low", "high"]
DIFF_COLUMNS = ["delta", "term", "level", "reference", "time", "diff_median", "diff_low",
                "diff_high", "p_positive"]
TIPPING_COLUMNS = ["term", "level", "reference", "time", "side", "mar_conclusion",
                   "tipping_delta", "hazard_ratio", "conclusion_after", "text"]
COMPARISON_COLUMNS = ["term", "level", "time", "n", "withdrawn", "excluded",
                      "censored_median", "censored_low", "censored_high", "never_median",
                      "never_low", "never_high", "always_median", "always_low",
                      "always_high"]


# --------------------------------------------------------------------------- the deltas
@dataclass(frozen=True)
class DeltaSpec:
    """Which delta each withdrawn patient gets.

    ``grid`` is the varied delta; patients at a level of ``factor`` listed in ``fixed``
    keep that level's fixed delta instead (``factor=None``: everyone follows the grid).
    """

    grid: np.ndarray
    factor: str | None = None
    fixed: dict = field(default_factory=dict)
    varied: tuple = ()

    def matrix(self, levels: np.ndarray | None, grid: np.ndarray | None = None) -> np.ndarray:
        """Delta per (profile, grid point) for profiles at ``levels`` of ``factor``."""
        grid = self.grid if grid is None else np.asarray(grid, float)
        n = 1 if levels is None else len(levels)
        out = np.broadcast_to(grid, (n, len(grid))).copy()
        if self.factor is not None and levels is not None:
            for lv, d in self.fixed.items():
                out[levels == lv] = d
        return out

    def who(self) -> str:
        """Which withdrawn patients the varied delta applies to, in words."""
        if self.factor is None:
            return "withdrawn patients"
        return f"withdrawn patients with {self.factor} = {' or '.join(self.varied)}"


def parse_deltas(text: str) -> list[float]:
    """``"-inf,-1,0,1,inf"`` -> floats (for the command line)."""
    try:
        out = [float(x) for x in str(text).split(",") if x.strip()]
    except ValueError as exc:
        raise ValueError(f"deltas must be comma-separated numbers, -inf or inf, got "
                         f"{text!r}") from exc
    if not out or any(np.isnan(out)):
        raise ValueError(f"deltas must be comma-separated numbers, -inf or inf, got {text!r}")
    return out


def check_delta_by(cohort, deltas=None, delta_by: str | None = None) -> None:
    """Check ``deltas`` / ``delta_by`` against a cohort before any fitting.

    Raises
    ------
    DataError
        Naming the factor or levels that the cohort does not have, or a malformed grid.
    """
    from ..errors import DataError

    try:
        delta_spec(cohort, deltas, delta_by)
    except ValueError as exc:
        raise DataError(f"withdrawal sensitivity: {exc}") from None


def delta_spec(cohort, deltas=None, delta_by: str | None = None) -> DeltaSpec:
    """Validate ``deltas`` / ``delta_by`` (see :func:`withdrawal_sensitivity`)."""
    if delta_by is None:
        if isinstance(deltas, Mapping):
            raise ValueError("a dict of deltas per level needs delta_by=<factor>")
        grid = np.asarray(DEFAULT_DELTAS if deltas is None else deltas, float).ravel()
        if grid.size == 0 or np.isnan(grid).any():
            raise ValueError("deltas must be numbers, -inf or inf")
        return DeltaSpec(grid=grid)
    cov = cohort.covariates
    if delta_by not in cov.columns:
        raise ValueError(f"delta_by={delta_by!r} is not a column of the cohort "
                         f"({list(cov.columns)})")
    levels = [str(x) for x in pd.unique(cov[delta_by].astype(str))]
    if not isinstance(deltas, Mapping):
        raise ValueError("with delta_by, give deltas as a dict {level: grid or fixed delta}, "
                         "e.g. {'surgery': [-2, -1, 0]} (other levels stay at 0, MAR)")
    bad = [k for k in deltas if str(k) not in levels]
    if bad:
        raise ValueError(f"levels {bad} are not levels of {delta_by!r} ({levels})")
    grids = {str(k): np.asarray(v, float).ravel() for k, v in deltas.items()
             if np.ndim(v) > 0}
    if not grids:
        raise ValueError("with delta_by, at least one level needs a grid of deltas")
    lengths = {len(g) for g in grids.values()}
    if len(lengths) > 1 or any(not np.array_equal(g, next(iter(grids.values())))
                               for g in grids.values()):
        raise ValueError("the levels given a grid of deltas must share the same grid")
    fixed = {lv: 0.0 for lv in levels if lv not in grids}
    fixed |= {str(k): float(v) for k, v in deltas.items() if np.ndim(v) == 0}
    grid = next(iter(grids.values()))
    if np.isnan(grid).any() or any(np.isnan(v) for v in fixed.values()):
        raise ValueError("deltas must be numbers, -inf or inf")
    return DeltaSpec(grid=grid, factor=delta_by, fixed=fixed, varied=tuple(grids))


# --------------------------------------------------------------------------- helpers
def _distinct(frame: pd.DataFrame, weights=None
              ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Distinct rows of ``frame``: (rows, counts, index of each original row's profile);
    ``weights``: patients per row (a collapsed cohort), summed into the counts."""
    if len(frame) == 0:
        return frame, np.zeros(0), np.zeros(0, int)
    h = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    _, first, inverse, counts = np.unique(h, return_index=True, return_inverse=True,
                                          return_counts=True)
    if weights is not None:
        counts = np.bincount(inverse.ravel(), weights=weights, minlength=len(first))
    return frame.iloc[first], counts.astype(float), inverse


def _row_weights(model, frame: pd.DataFrame) -> np.ndarray | None:
    """Patients per row of ``frame`` (rows of a collapsed cohort), or None (one each)."""
    w = getattr(model.cohort, "weights", None)
    return None if w is None else w.reindex(frame.index).to_numpy(float)


def _total(model, frame: pd.DataFrame, mask=None) -> float:
    """Patients in the rows of ``frame`` (where ``mask``)."""
    w = _row_weights(model, frame)
    w = np.ones(len(frame)) if w is None else w
    return float(w.sum() if mask is None else w[np.asarray(mask, bool)].sum())


def _groups(model, data: pd.DataFrame, by: Sequence[str]) -> list[tuple[str, str]]:
    groups = [("all", "all")]
    for f in by:
        groups += [(f, str(lv)) for lv in _levels(data, f)]
    return groups


def _levels(data: pd.DataFrame, f: str) -> list:
    col = data[f]
    return (list(col.cat.categories) if isinstance(col.dtype, pd.CategoricalDtype)
            else list(pd.unique(col)))


def _block(n_samples: int, n_times: int) -> int:
    return max(1, MAX_BLOCK // max(1, n_samples * n_times))


def _standardised(model, data: pd.DataFrame, h0: np.ndarray) -> np.ndarray:
    """Mean over the rows of ``data`` of P(recovered by t), per draw: (chain, draw, T)."""
    prof, w, _ = _distinct(data, _row_weights(model, data))
    step = _block(h0.shape[0] * h0.shape[1], h0.shape[-1])
    total = np.zeros(h0.shape)
    for start in range(0, len(prof), step):
        eta = model.linear_predictor(prof.iloc[start:start + step]).values
        f = -np.expm1(-h0[:, :, None, :] * np.exp(eta)[..., None])
        total += np.einsum("cdpt,p->cdt", f, w[start:start + step])
    return total / w.sum()


def _mar_draws(model, data, groups, h0) -> np.ndarray:
    """G: cohort-averaged recovery per group under MAR, (chain, draw, T, group)."""
    out = np.empty(h0.shape + (len(groups),))
    for g, (term, level) in enumerate(groups):
        d = data
        if term != "all":
            d = data.copy()
            cats = _levels(data, term)
            lv = next(c for c in cats if str(c) == level)
            d[term] = pd.Categorical([lv] * len(d), categories=cats)
        out[..., g] = _standardised(model, d, h0)
    return out


@dataclass
class _Withdrawn:
    """Distinct withdrawn (profile, withdrawal time) rows with their group weights."""

    profiles: pd.DataFrame      # model columns only
    t_w: np.ndarray
    by_level: np.ndarray | None  # level of the delta_by factor (str) per profile
    weights: np.ndarray          # (profile, group): count / n_group, 0 if not a member


def _withdrawn(model, data, groups, spec: DeltaSpec) -> _Withdrawn:
    iv = model.cohort.intervals
    mask = iv["withdrawn"].to_numpy(bool)
    cols = list(data.columns)
    w = data.loc[mask].copy()
    w["__t_w"] = iv.loc[mask, "last_unrecovered"].to_numpy(float)
    extra = []
    if spec.factor is not None and spec.factor not in cols:
        w["__by"] = model.cohort.covariates.loc[mask, spec.factor].to_numpy()
        extra = ["__by"]
    prof, counts, _ = _distinct(w, _row_weights(model, w))
    weights = np.zeros((len(prof), len(groups)))
    for g, (term, level) in enumerate(groups):
        if term == "all":
            weights[:, g] = counts / _total(model, data)
        else:
            member = (prof[term].astype(str) == level).to_numpy()
            n_l = int(np.rint(_total(model, data, data[term].astype(str) == level)))
            weights[:, g] = np.where(member, counts / max(n_l, 1), 0.0)
    by_level = None
    if spec.factor is not None:
        src = prof["__by"] if extra else prof[spec.factor]
        by_level = src.astype(str).to_numpy()
    return _Withdrawn(prof[cols], prof["__t_w"].to_numpy(float), by_level, weights)


def _adjustment(model, wd: _Withdrawn, alpha, grid, times, deltas: np.ndarray
                ) -> np.ndarray:
    """Sum over withdrawn profiles of weight x [c(delta) - c(0)]: (chain, draw, K, T, group).

    ``deltas`` has shape (profile, K): each profile's delta at each of K settings.
    """
    c, d = alpha.shape[:2]
    k_n, n_t, n_g = deltas.shape[1], len(times), wd.weights.shape[1]
    out = np.zeros((c, d, k_n, n_t, n_g))
    if len(wd.t_w) == 0:
        return out
    h0 = cumulative_baseline(alpha, grid, times)                      # (c, d, T)
    deltas = np.broadcast_to(deltas, (len(wd.t_w), k_n))
    mult = np.exp(deltas)                                             # (p, K); 0 or inf ok
    step = _block(c * d, n_t)
    for start in range(0, len(wd.t_w), step):
        sl = slice(start, start + step)
        eta = model.linear_predictor(wd.profiles.iloc[sl]).values       # (c, d, p)
        h0w = cumulative_baseline(alpha, grid, wd.t_w[sl])              # (c, d, p)
        dh = np.exp(eta)[..., None] * np.clip(h0[:, :, None, :] - h0w[..., None], 0, None)
        e0 = np.exp(-dh)                                                # (c, d, p, T)
        pos = dh > 0
        for k in range(k_n):
            m = mult[sl, k][None, None, :, None]
            with np.errstate(invalid="ignore", over="ignore"):
                ek = np.where(pos, np.exp(-m * dh), 1.0)
            out[:, :, k] += np.einsum("cdpt,pg->cdtg", e0 - ek, wd.weights[sl])
    return out


# --------------------------------------------------------------------------- draws
@dataclass
class WithdrawalDraws:
    """Posterior draws of recovery by time under each delta, per (term, level) group.

    ``values`` has dims ``chain, draw, delta, <time_unit>, group``; ``groups`` lists the
    (term, level) of each group. :meth:`at` evaluates other deltas at one time from the
    stored MAR part G (``_mar``, dims chain, draw, time, group) and withdrawn profiles.
    """

    values: xr.DataArray
    groups: list
    spec: DeltaSpec
    times: np.ndarray
    by: list
    model: object = None
    _withdrawn: _Withdrawn | None = None
    _mar: np.ndarray | None = None

    def at(self, deltas: np.ndarray, time: float) -> np.ndarray:
        """Draws at other deltas (varied grid) at one ``time``: (chain, draw, K, group)."""
        m = self.model
        alpha = m.idata.posterior["alpha"].values
        t = np.array([time])
        mat = self.spec.matrix(self._withdrawn.by_level, deltas)
        adj = _adjustment(m, self._withdrawn, alpha, m.cohort.grid, t, mat)[:, :, :, 0]
        k = int(np.argmin(np.abs(self.times - time)))
        return np.clip(self._mar[:, :, None, k, :] + adj, 0.0, 1.0)


def withdrawal_draws(model, deltas=None, *, by: str | Sequence[str] | None = None,
                     times=None, delta_by: str | None = None) -> WithdrawalDraws:
    """Recovery by each time under each delta, per posterior draw (see module docstring).

    Parameters are those of :func:`withdrawal_sensitivity`.
    """
    cohort = model.cohort
    spec = delta_spec(cohort, deltas, delta_by)
    times = check_times(times, cohort.grid, [_default_time(cohort)])
    data = model_data(model)
    by = _by(model, by)
    groups = _groups(model, data, by)
    alpha = model.idata.posterior["alpha"].values
    h0 = cumulative_baseline(alpha, cohort.grid, times)
    mar = _mar_draws(model, data, groups, h0)                            # (c, d, T, g)
    wd = _withdrawn(model, data, groups, spec)
    adj = _adjustment(model, wd, alpha, cohort.grid, times,
                      spec.matrix(wd.by_level))                           # (c, d, K, T, g)
    vals = np.clip(mar[:, :, None] + adj, 0.0, 1.0)
    post = model.idata.posterior
    da = xr.DataArray(vals, dims=("chain", "draw", "delta", cohort.time_unit, "group"),
                      coords={"chain": post.chain.values, "draw": post.draw.values,
                              "delta": spec.grid, cohort.time_unit: times,
                              "term": ("group", [g[0] for g in groups]),
                              "level": ("group", [g[1] for g in groups])},
                      name="recovery_probability")
    return WithdrawalDraws(da, groups, spec, times, by, model, wd, mar)


def _by(model, by) -> list[str]:
    if by is None:
        return list(model.factors)
    by = [by] if isinstance(by, str) else list(by)
    bad = [f for f in by if f not in model.factors]
    if bad:
        raise ValueError(f"{bad} are not factors of the model ({list(model.factors)})")
    return by


def _default_time(cohort) -> float:
    grid = cohort.grid
    on_grid = np.isclose(grid[1:], cohort.follow_up)
    return float(grid[1:][on_grid][0]) if on_grid.any() else float(grid[-1])


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


def _pairs(w: WithdrawalDraws) -> list[tuple[str, str, str, int, int]]:
    """(factor, level, reference, group index, reference group index) per contrast."""
    out = []
    for f in w.by:
        idx = [g for g, (t, _) in enumerate(w.groups) if t == f]
        ref = idx[0]
        out += [(f, w.groups[g][1], w.groups[ref][1], g, ref) for g in idx[1:]]
    return out


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


def format_delta(x: float) -> str:
    """A delta as written in the tables: ``-inf``, ``-0.5``, ``0``, ``inf``."""
    return "" if pd.isna(x) else f"{float(x):g}"


def to_csv(df: pd.DataFrame, path) -> None:
    """Write a withdrawal table with its delta columns as ``-inf``, numbers, ``0``, ``inf``."""
    out = df.copy()
    for col in ("delta", "tipping_delta"):
        if col in out.columns:
            out[col] = out[col].map(format_delta)
    out.to_csv(path, index=False)
