r"""The grouped-time proportional hazards (complementary log-log) interval likelihood.

On the grid :math:`0 = g_0 < \dots < g_K` with baseline log-hazard *rates*
:math:`\alpha_k` on interval :math:`(g_{k-1}, g_k]` of width :math:`w_k`,

.. math::

    H_0(g_k) = \sum_{j \le k} e^{\alpha_j} w_j, \qquad
    S_i(t) = \exp\{-H_0(t)\, e^{\eta_i}\},

and a patient whose recovery lies in :math:`(L_i, R_i]` (``event``), or who was last seen
unrecovered at :math:`L_i` (censored), contributes

.. math::

    \ell_i = -H_0(L_i) e^{\eta_i}
             + d_i \log\bigl(1 - \exp\{-(H_0(R_i) - H_0(L_i)) e^{\eta_i}\}\bigr),

computed stably with ``log1mexp``. One term per patient, no person-period rows; patients
with the same covariate pattern and the same interval share one term with a weight.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytensor.tensor as pt

from ..errors import DataError


@dataclass
class ModelData:
    """The numbers the model needs, per patient and collapsed into weighted patterns.

    Attributes
    ----------
    patients : Index
        Patient ids (name ``patient``).
    factors, covariates : list of str
        Categorical factors and numeric covariates in the model.
    group : str or None
        Column of the random-intercept groups.
    levels : dict
        Levels of each factor (reference first) and of ``group``.
    scaling : DataFrame
        Index covariate, columns ``mean`` and ``sd`` used to standardise.
    codes : dict of ndarray
        Integer level codes per patient for every factor and the group.
    z : ndarray
        Standardised numeric covariates, shape (patients, covariates).
    l_idx, r_idx : ndarray of int
        Grid indices of L and R (``r_idx == l_idx`` when censored).
    event : ndarray of bool
    grid, widths : ndarray
    time_unit : str
    patterns : dict
        Collapsed arrays (same keys as above: ``codes``, ``z``, ``l_idx``, ``r_idx``,
        ``event``) plus ``weight``; ``pattern_of`` maps each patient to its pattern.
    """

    patients: pd.Index
    factors: list
    covariates: list
    group: str | None
    levels: dict
    scaling: pd.DataFrame
    codes: dict
    z: np.ndarray
    l_idx: np.ndarray
    r_idx: np.ndarray
    event: np.ndarray
    grid: np.ndarray
    widths: np.ndarray
    time_unit: str
    follow_up: float
    patterns: dict = field(default_factory=dict)
    pattern_of: np.ndarray | None = None
    #: patients per row of a collapsed cohort (``cohort.weights``); None: one each
    row_weight: np.ndarray | None = None
    #: smooth terms: term -> :class:`~footdrop_bayes.model.smooth.SmoothBasis`
    smooth: dict = field(default_factory=dict)

    @property
    def n_patients(self) -> int:
        return len(self.patients)

    def events_per_level(self, name: str) -> pd.Series:
        """Recoveries observed in each level of a factor or of the group."""
        w = None if self.row_weight is None else self.row_weight[self.event]
        counts = np.bincount(self.codes[name][self.event], weights=w,
                             minlength=len(self.levels[name]))
        if w is not None:
            counts = np.rint(counts).astype(np.int64)
        return pd.Series(counts, index=self.levels[name], name="events")

    def events_per_interval(self) -> np.ndarray:
        """Recoveries whose interval ends in each grid interval (length K)."""
        w = None if self.row_weight is None else self.row_weight[self.event]
        counts = np.bincount(self.r_idx[self.event] - 1, weights=w, minlength=len(self.widths))
        return counts if w is None else np.rint(counts).astype(np.int64)


def encode(covariates: pd.DataFrame, factors, numeric, levels: dict, scaling: pd.DataFrame,
           group: str | None = None, *, table: str = "data"):
    """Level codes and standardised covariates of a table of covariate profiles.

    Returns ``(codes, z)``: a dict of integer codes (``-1`` for a missing or unknown group,
    meaning the population average) and the standardised numeric matrix.

    Raises
    ------
    DataError
        On a missing column, an unknown factor level or a missing value.
    """
    needed = list(factors) + list(numeric)
    missing = [c for c in needed if c not in covariates.columns]
    if missing:
        raise DataError(f"{table}: missing column(s) {missing}; the model needs {needed}")
    codes = {}
    for f in factors:
        col = covariates[f].astype(object)
        lv = pd.Index(levels[f])
        code = lv.get_indexer(col)
        if (code < 0).any():
            bad = sorted({str(x) for x in col[code < 0]})
            raise DataError(f"{table}: column {f!r} has values {bad} that are not levels of "
                            f"the model ({[str(x) for x in lv]})")
        codes[f] = code.astype(np.int64)
    if group is not None:
        if group in covariates.columns:
            codes[group] = pd.Index(levels[group]).get_indexer(covariates[group].astype(object))
        else:
            codes[group] = np.full(len(covariates), -1, dtype=np.int64)
    if numeric:
        x = covariates[list(numeric)].to_numpy(float)
        if np.isnan(x).any():
            raise DataError(f"{table}: missing values in numeric column(s) "
                            f"{[c for c in numeric if covariates[c].isna().any()]}")
        z = (x - scaling["mean"].to_numpy()) / scaling["sd"].to_numpy()
    else:
        z = np.zeros((len(covariates), 0))
    return codes, z


def prepare(cohort, factors, covariates, group=None, *, collapse: bool = True) -> ModelData:
    """Turn a cohort into :class:`ModelData` for the chosen factors and covariates."""
    cov = cohort.covariates
    levels = {}
    for f in list(factors) + ([group] if group else []):
        s = cov[f]
        cats = list(s.cat.categories) if isinstance(s.dtype, pd.CategoricalDtype) else \
            sorted(s.dropna().unique().tolist())
        if f != group and len(cats) < 2:
            raise DataError(f"factor {f!r} has fewer than two levels ({cats}); remove it")
        levels[f] = cats
    x = cov[list(covariates)].to_numpy(float) if covariates else np.zeros((len(cov), 0))
    row_weight = getattr(cohort, "weights", None)
    if row_weight is not None:      # a collapsed cohort: frequency-weighted mean and SD
        row_weight = np.asarray(row_weight, float)
        mean, sd = weighted_mean_sd(x, row_weight)
    else:
        mean = x.mean(axis=0)
        sd = x.std(axis=0, ddof=1) if len(x) > 1 else np.ones(x.shape[1])
    flat = [c for c, s in zip(covariates, sd, strict=True) if not s > 0]
    if flat:
        raise DataError(f"numeric covariate(s) {flat} take a single value in the cohort")
    scaling = pd.DataFrame({"mean": mean, "sd": sd},
                           index=pd.Index(list(covariates), name="covariate"))
    codes, z = encode(cov, factors, covariates, levels, scaling, group, table="cohort")
    iv = cohort.intervals
    grid = np.asarray(cohort.grid, float)
    ev = iv["event"].to_numpy(bool)
    l_idx = np.searchsorted(grid, iv["last_unrecovered"].to_numpy(float))
    r_idx = np.where(ev, np.searchsorted(grid, iv["first_recovered"].fillna(0).to_numpy(float)),
                     l_idx)
    data = ModelData(patients=cohort.patient_ids, factors=list(factors),
                     covariates=list(covariates), group=group, levels=levels, scaling=scaling,
                     codes=codes, z=z, l_idx=l_idx.astype(np.int64),
                     r_idx=r_idx.astype(np.int64), event=ev, grid=grid,
                     widths=np.diff(grid), time_unit=cohort.time_unit,
                     follow_up=float(cohort.follow_up), row_weight=row_weight)
    collapse_patterns(data, collapse=collapse)
    return data


def weighted_mean_sd(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and SDs (``ddof=1``) of ``x`` with each row counted ``w`` times."""
    n = w.sum()
    mean = (w[:, None] * x).sum(axis=0) / n
    var = (w[:, None] * (x - mean) ** 2).sum(axis=0) / (n - 1) if n > 1 else np.ones(x.shape[1])
    return mean, np.sqrt(var)


def collapse_patterns(data: ModelData, *, collapse: bool = True) -> None:
    """Fill ``data.patterns`` / ``data.pattern_of``: unique (covariates, L, R, event) rows."""
    names = list(data.codes)
    table = np.column_stack([data.codes[k] for k in names] + [data.z]
                            + [data.l_idx, data.r_idx, data.event]).astype(float) \
        if data.n_patients else np.zeros((0, len(names) + data.z.shape[1] + 3))
    if collapse and len(table):
        from .._rows import unique_rows

        first, inverse, counts = unique_rows(list(table.T))
        uniq = table[first]
    else:
        uniq, inverse, counts = table, np.arange(len(table)), np.ones(len(table))
    if data.row_weight is not None:     # rows of a collapsed cohort stand for patients
        counts = np.bincount(inverse, weights=data.row_weight, minlength=len(uniq))
    nz = data.z.shape[1]
    j = len(names)
    data.patterns = {
        "codes": {k: uniq[:, i].astype(np.int64) for i, k in enumerate(names)},
        "z": uniq[:, j:j + nz],
        "l_idx": uniq[:, j + nz].astype(np.int64),
        "r_idx": uniq[:, j + nz + 1].astype(np.int64),
        "event": uniq[:, j + nz + 2].astype(bool),
        "weight": counts.astype(float),
    }
    data.pattern_of = inverse.astype(np.int64)


def log1mexp_neg(d):
    """``log(1 - exp(-d))`` for ``d > 0``, stable for small and large ``d`` (pytensor)."""
    return pt.log1mexp(-d)


def interval_loglik(alpha, eta, widths, l_idx, r_idx, event):
    """Per-row log-likelihood of intervals (pytensor).

    Parameters
    ----------
    alpha : tensor, shape (K,)
        Baseline log-hazard rates per grid interval.
    eta : tensor, shape (n,)
        Linear predictors.
    widths : array, shape (K,)
    l_idx, r_idx : int arrays, shape (n,)
        Grid indices of L and R (R = L when censored).
    event : bool array, shape (n,)
    """
    h0 = pt.concatenate([pt.zeros((1,)), pt.cumsum(pt.exp(alpha) * widths)])
    rel = pt.exp(eta)
    hl = h0[l_idx] * rel
    ev = event if isinstance(event, pt.TensorVariable) else np.asarray(event, bool)
    # censored rows: d = 0 -> use a dummy 1.0 inside log1mexp, masked out
    d = pt.switch(ev, (h0[r_idx] - h0[l_idx]) * rel, 1.0)
    return -hl + pt.switch(ev, log1mexp_neg(d), 0.0)


def interval_loglik_numpy(alpha, eta, widths, l_idx, r_idx, event):
    """The same log-likelihood in numpy, broadcasting over leading (draw) axes.

    ``alpha`` has shape (..., K) and ``eta`` shape (..., n).
    """
    alpha = np.asarray(alpha, float)
    h0 = np.concatenate([np.zeros(alpha.shape[:-1] + (1,)),
                         np.cumsum(np.exp(alpha) * widths, axis=-1)], axis=-1)
    rel = np.exp(eta)
    hl = np.take(h0, l_idx, axis=-1) * rel
    d = (np.take(h0, r_idx, axis=-1) - np.take(h0, l_idx, axis=-1)) * rel
    ev = np.asarray(event, bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(d > 0.693, np.log1p(-np.exp(-d)), np.log(-np.expm1(-d)))
    return -hl + np.where(ev, term, 0.0)
