r"""The interval likelihood with a linear predictor that changes between grid intervals.

With :math:`\eta_{ij} = \eta_i + \sum_v \gamma_v[\text{level}_v(i, j)]` constant on grid
interval :math:`j` (width :math:`w_j`, baseline rate :math:`e^{\alpha_j}`), write
:math:`\Delta_{ij} = e^{\alpha_j} w_j e^{\eta_{ij}}`. A patient whose recovery lies in
:math:`(g_l, g_r]` contributes

.. math::

    \ell_i = -\sum_{j \le l} \Delta_{ij}
             + d_i \log\Bigl(1 - \exp\bigl(-\sum_{l < j \le r} \Delta_{ij}\bigr)\Bigr),

and a censored patient (last seen unrecovered at :math:`g_l`) the first sum only. With no
missed visit (``r = l + 1``) this is the person-period Bernoulli likelihood with a
complementary log-log link; with missed visits it does not factor into Bernoullis.

Patients are collapsed on (static covariates, path over the intervals at risk, L, R,
event): path cells after the last interval at risk never enter and are set to the
reference level before collapsing, so identical histories share one weighted term. Cost
O(patterns x grid intervals).
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from ..errors import DataError
from .likelihood import ModelData, log1mexp_neg, prepare


def prepare_tv(cohort, factors, covariates, group=None, *, time_varying=None,
               collapse: bool = True) -> ModelData:
    """:func:`~.likelihood.prepare` plus the time-varying paths (``data.tv``).

    ``data.tv`` is a dict: ``names``, ``levels`` (per name, reference first) and
    ``paths`` (per name, int codes of shape (patients, K), reference beyond the
    intervals at risk). ``data.patterns["tv"]`` holds the collapsed paths.
    """
    names = list(cohort.time_varying if time_varying is None else time_varying)
    unknown = [n for n in names if n not in cohort.time_varying]
    if unknown:
        raise DataError(f"{unknown} are not time-varying columns of the cohort "
                        f"({list(cohort.time_varying)}); build it with "
                        "Cohort.from_visits(..., time_varying=[...])")
    data = prepare(cohort, factors, covariates, group, collapse=False)
    k = len(data.widths)
    n_risk = np.where(data.event, data.r_idx, data.l_idx)
    inside = np.arange(k)[None, :] < n_risk[:, None]
    data.tv = {"names": names,
               "levels": {n: list(cohort.time_varying_levels[n]) for n in names},
               "paths": {n: np.where(inside, cohort.time_varying_paths[n], 0)
                         .astype(np.int64) for n in names}}
    collapse_tv_patterns(data, collapse=collapse)
    return data


def collapse_tv_patterns(data: ModelData, *, collapse: bool = True) -> None:
    """Fill ``data.patterns`` (with ``"tv"``) and ``data.pattern_of`` on (covariates, path,
    L, R, event)."""
    names = list(data.codes)
    tv = data.tv
    k = len(data.widths)
    cols = ([data.codes[c] for c in names] + list(data.z.T)
            + [data.l_idx, data.r_idx, data.event.astype(np.int64)]
            + [tv["paths"][n][:, j] for n in tv["names"] for j in range(k)])
    n = data.n_patients
    if collapse and n:
        from .._rows import unique_rows

        first, inverse, counts = unique_rows(cols)
    else:
        first, inverse, counts = np.arange(n), np.arange(n), np.ones(n)
    data.patterns = {
        "codes": {c: data.codes[c][first] for c in names},
        "z": data.z[first],
        "l_idx": data.l_idx[first],
        "r_idx": data.r_idx[first],
        "event": data.event[first],
        "weight": np.asarray(counts, float),
        "tv": {nm: tv["paths"][nm][first] for nm in tv["names"]},
    }
    data.pattern_of = np.asarray(inverse, np.int64)


def tv_loglik(alpha, eta, tv_effects: list, paths: list, widths, l_idx, r_idx, event):
    """Per-row log-likelihood with per-interval linear predictors (pytensor).

    Parameters
    ----------
    alpha : tensor (K,)
    eta : tensor (n,)
        Static part of the linear predictor.
    tv_effects : list of tensors (levels_v,)
        Log hazard ratio of each level of each time-varying column (reference 0).
    paths : list of int tensors (n, K)
        Level codes per row and grid interval.
    widths : (K,)
    l_idx, r_idx : int (n,)
    event : bool (n,)
    """
    k = widths.shape[0]
    lin = eta[:, None] + pt.zeros((1, k))
    for gam, path in zip(tv_effects, paths, strict=True):
        lin = lin + gam[path]
    inc = (pt.exp(alpha) * widths)[None, :] * pt.exp(lin)
    j = pt.arange(1, k + 1)[None, :]
    before = pt.le(j, l_idx[:, None])
    between = pt.gt(j, l_idx[:, None]) & pt.le(j, r_idx[:, None])
    hl = pt.sum(pt.switch(before, inc, 0.0), axis=1)
    d = pt.sum(pt.switch(between, inc, 0.0), axis=1)
    return -hl + pt.switch(event, log1mexp_neg(pt.switch(event, d, 1.0)), 0.0)


def tv_loglik_numpy(alpha, eta, tv_effects: list, paths: list, widths, l_idx, r_idx, event):
    """The same in numpy, broadcasting over leading (draw) axes.

    ``alpha`` (..., K), ``eta`` (..., n), each of ``tv_effects`` (..., levels), each of
    ``paths`` (n, K).
    """
    alpha = np.asarray(alpha, float)
    eta = np.asarray(eta, float)
    k = alpha.shape[-1]
    lin = eta[..., :, None] + np.zeros(k)
    for gam, path in zip(tv_effects, paths, strict=True):
        lin = lin + np.take(np.asarray(gam, float), np.asarray(path), axis=-1)
    inc = (np.exp(alpha) * widths)[..., None, :] * np.exp(lin)
    j = np.arange(1, k + 1)[None, :]
    l_idx = np.asarray(l_idx)[:, None]
    r_idx = np.asarray(r_idx)[:, None]
    hl = np.sum(np.where(j <= l_idx, inc, 0.0), axis=-1)
    d = np.sum(np.where((j > l_idx) & (j <= r_idx), inc, 0.0), axis=-1)
    ev = np.asarray(event, bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(d > 0.693, np.log1p(-np.exp(-d)), np.log(-np.expm1(-d)))
    return -hl + np.where(ev, term, 0.0)
