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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from ..model.predictive import cumulative_baseline
from ._common import check_times, model_data
from .withdrawal_deltas import DeltaSpec, delta_spec

#: Upper bound on the number of (sample x profile x time) values evaluated at once.
MAX_BLOCK = 2_000_000


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
