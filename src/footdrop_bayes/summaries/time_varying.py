r"""Summaries of time-varying terms: hazard ratios, importance, static regimes.

- :func:`time_varying_hazard_ratios`: the hazard ratio of the *current* level against the
  reference, :math:`\exp(\gamma_v[l])`, as rows of ``hazard_ratios.csv`` (``term`` = the
  column name).
- :func:`time_varying_importance`: the importance of a time-varying term defined over
  *person-time*: the SD of :math:`\gamma_v[\text{level}_v(i, j)]` across the grid intervals
  at risk of all patients (each patient-interval one unit), per draw — the factors' rule
  with person-intervals in place of patients.
- :func:`regime_recovery`: cohort-averaged recovery curves under **static regimes** by
  g-computation: every patient's static profile with a treatment path set by the regime
  (``"never switch"``: the baseline value throughout; ``("surgery", 2)``: the baseline
  value until month 2, surgery from then on; ``"as observed"``: each patient's recorded
  path, carried forward after the last visit). Computed on distinct (profile, path) rows
  with weights, in blocks: never patients x draws.

Confounding by indication: when the treatment changed *because* a patient was not
improving, these are not causal effects (see ``docs/time_varying.md``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from ._common import SAMPLE_DIMS
from .hazard_ratios import HR_COLUMNS, _row

REGIME_COLUMNS = ["regime", "time", "median", "low", "high"]


def time_varying_hazard_ratios(model, interval: float = 0.95) -> pd.DataFrame:
    """Hazard ratios of the current level of each time-varying column (``HR_COLUMNS``)."""
    post = model.idata.posterior
    rows = []
    for name in model.time_varying:
        gam = post[f"log_hr_{name}"]
        levels = [str(x) for x in gam[name].values]
        for lv in levels[1:]:
            draws = gam.sel({name: lv}).stack(sample=SAMPLE_DIMS).values
            rows.append(_row(name, lv, levels[0], draws, interval))
    df = pd.DataFrame(rows, columns=HR_COLUMNS)
    df.attrs["interval"] = float(interval)
    return df


def person_time_shares(model, name: str) -> pd.Series:
    """Grid intervals at risk spent at each level of a time-varying column (counts)."""
    d = model.data
    k = len(d.widths)
    n_risk = np.where(d.event, d.r_idx, d.l_idx)
    inside = np.arange(k)[None, :] < n_risk[:, None]
    counts = np.bincount(d.tv["paths"][name][inside],
                         minlength=len(d.tv["levels"][name]))
    return pd.Series(counts, index=[str(x) for x in d.tv["levels"][name]],
                     name="intervals_at_risk")


def time_varying_importance(model, interval: float = 0.95) -> pd.DataFrame:
    """Importance of each time-varying term over person-time (see the module notes).

    Returns
    -------
    DataFrame
        ``term``, ``median``, ``low``, ``high`` of the person-time SD of the term's
        contribution to the log hazard.
    """
    lo, hi = (1 - interval) / 2, 1 - (1 - interval) / 2
    post = model.idata.posterior
    rows = []
    for name in model.time_varying:
        w = person_time_shares(model, name).to_numpy(float)
        w = w / w.sum()
        gam = post[f"log_hr_{name}"].stack(sample=SAMPLE_DIMS).values.T   # (S, L)
        mean = gam @ w
        sd = np.sqrt(np.maximum((gam - mean[:, None]) ** 2 @ w, 0.0))
        q = np.quantile(sd, [0.5, lo, hi])
        rows.append({"term": name, "median": q[0], "low": q[1], "high": q[2]})
    return pd.DataFrame(rows, columns=["term", "median", "low", "high"])


def _regime_paths(model, name: str, regime) -> np.ndarray:
    """(patients, K) level codes of one column under a regime."""
    d = model.data
    levels = [str(x) for x in d.tv["levels"][name]]
    observed = model.cohort.time_varying_paths[name]
    base = observed[:, :1]
    k = len(d.widths)
    if regime == "as observed":
        return observed
    if regime == "never switch":
        return np.repeat(base, k, axis=1)
    if isinstance(regime, tuple) and len(regime) == 2:
        level, start = regime
        if str(level) not in levels:
            raise ValueError(f"regime {regime!r}: {level!r} is not a level of {name!r} "
                             f"({levels})")
        j = int(np.searchsorted(d.grid, float(start)))
        if j >= len(d.grid) or not np.isclose(d.grid[j], float(start)):
            raise ValueError(f"regime {regime!r}: the start must be a grid time "
                             f"({d.grid.tolist()})")
        out = np.repeat(base, k, axis=1)
        out[:, j:] = levels.index(str(level))
        return out
    raise ValueError(f"a regime is 'as observed', 'never switch' or (level, start time), "
                     f"got {regime!r}")


def default_regimes(model, name: str | None = None) -> dict:
    """"As observed", "never switch" and "<last level> from <t>" for t = 0 and mid follow-up."""
    name = name or model.time_varying[0]
    levels = [str(x) for x in model.data.tv["levels"][name]]
    grid = model.data.grid
    mid = float(grid[len(grid) // 2])
    return {"as observed": "as observed", "never switch": "never switch",
            f"{levels[-1]} from {grid[0]:g}": (levels[-1], float(grid[0])),
            f"{levels[-1]} from {mid:g}": (levels[-1], mid)}


def regime_recovery(model, regimes: Mapping | None = None, *, name: str | None = None,
                    block: int = 256) -> xr.DataArray:
    """Cohort-averaged P(recovered by each grid time) under static regimes, per draw.

    Parameters
    ----------
    model : TimeVaryingRecoveryModel
        Fitted.
    regimes : mapping of label -> regime, optional
        Regimes of column ``name`` (default :func:`default_regimes`): ``"as observed"``,
        ``"never switch"`` or ``(level, start time)``.
    name : str, optional
        The time-varying column (default the first).
    block : int
        Distinct (profile, path) rows per block (bounds memory at draws x block x K).

    Returns
    -------
    DataArray, dims (regime, chain, draw, <time_unit>)
    """
    from ..model.recovery_model import RecoveryModel

    model._require_fit()
    name = name or model.time_varying[0]
    regimes = dict(default_regimes(model, name) if regimes is None else regimes)
    post = model.idata.posterior
    d = model.data
    alpha = post["alpha"].values                                   # (C, D, K)
    inc0 = np.exp(alpha) * d.widths
    others = [n for n in model.time_varying if n != name]
    out = []
    for regime in regimes.values():
        paths = {n: model.cohort.time_varying_paths[n] for n in others}
        paths[name] = _regime_paths(model, name, regime)
        static = [d.codes[k] for k in d.codes] + list(d.z.T)
        from .._rows import unique_rows

        first, _, counts = unique_rows(static + [p[:, j] for p in paths.values()
                                                 for j in range(p.shape[1])])
        total = np.zeros(alpha.shape)
        for s in range(0, len(first), block):
            idx = first[s:s + block]
            codes = {k: v[idx] for k, v in d.codes.items()}
            eta = RecoveryModel._eta(model, post, codes, d.z[idx])    # (C, D, b)
            lin = eta[..., None] + np.zeros(len(d.widths))
            for n, p in paths.items():
                lin = lin + post[f"log_hr_{n}"].values[..., p[idx]]
            cum = np.cumsum(inc0[..., None, :] * np.exp(lin), axis=-1)
            total += np.einsum("cdbk,b->cdk", -np.expm1(-cum), counts[s:s + block])
        out.append(total / counts.sum())
    t = d.time_unit
    return xr.DataArray(np.stack(out), dims=("regime", "chain", "draw", t),
                        coords={"regime": list(regimes), "chain": post.chain.values,
                                "draw": post.draw.values, t: d.grid[1:]},
                        name="recovered")


def regime_table(curves: xr.DataArray, interval: float = 0.95) -> pd.DataFrame:
    """Median and equal-tailed interval of :func:`regime_recovery` per regime and time."""
    lo, hi = (1 - interval) / 2, 1 - (1 - interval) / 2
    t = curves.dims[-1]
    q = curves.quantile([0.5, lo, hi], dim=list(SAMPLE_DIMS)).values   # (3, R, T)
    rows = [{"regime": r, "time": float(tt), "median": q[0, i, j], "low": q[1, i, j],
             "high": q[2, i, j]}
            for i, r in enumerate(curves.regime.values)
            for j, tt in enumerate(curves[t].values)]
    return pd.DataFrame(rows, columns=REGIME_COLUMNS)
