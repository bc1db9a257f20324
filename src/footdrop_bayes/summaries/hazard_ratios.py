r"""Hazard ratios of recovery with credible intervals and P(HR > 1).

For a factor ``f`` with sum-to-zero level effects :math:`b_{f,l}`, the hazard ratio of
level ``l`` against level ``r`` is :math:`\exp(b_{f,l} - b_{f,r})` in each draw; for a
numeric covariate with log hazard ratio :math:`\beta_c` per original unit, the hazard ratio
per ``u`` units is :math:`\exp(u\,\beta_c)`. Reported: the posterior median, an
equal-tailed interval and ``p_direction`` = P(HR > 1), the probability that the level (or
a larger covariate value) recovers faster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from ._common import SAMPLE_DIMS, factor_levels, interval_quantiles

HR_COLUMNS = ["term", "level", "reference", "hr_median", "hr_low", "hr_high", "p_direction"]


def _row(term, level, reference, log_hr: np.ndarray, interval: float) -> dict:
    lo, hi = interval_quantiles(interval)
    med, low, high = np.quantile(log_hr, [0.5, lo, hi])
    return {"term": term, "level": level, "reference": reference,
            "hr_median": float(np.exp(med)), "hr_low": float(np.exp(low)),
            "hr_high": float(np.exp(high)), "p_direction": float(np.mean(log_hr > 0))}


def _flat(da: xr.DataArray) -> np.ndarray:
    dims = [d for d in SAMPLE_DIMS if d in da.dims]
    return da.stack(sample=dims).values if dims else np.atleast_1d(da.values)


def _units(per: Mapping | None, covariate: str) -> list[float]:
    if per is None or covariate not in per:
        return [1.0]
    u = per[covariate]
    units = [float(x) for x in (u if isinstance(u, Sequence) and not isinstance(u, str)
                                else [u])]
    if not units or any(not np.isfinite(x) or x == 0 for x in units):
        raise ValueError(f"per[{covariate!r}] must be non-zero finite unit(s), got {u!r}")
    return units


def unit_label(unit: float) -> str | float:
    """The ``level`` entry of a covariate row: NaN for one unit, ``"per 10"`` otherwise."""
    return np.nan if unit == 1 else f"per {unit:g}"


def hazard_ratios_from_posterior(posterior: xr.Dataset, *, factors: Sequence[str] = (),
                                 covariates: Sequence[str] = (), interval: float = 0.95,
                                 per: Mapping | None = None,
                                 pairs: Sequence[tuple] | None = None) -> pd.DataFrame:
    """Hazard-ratio table from posterior draws; see :func:`hazard_ratios`."""
    unknown = set(per or {}) - set(covariates)
    if unknown:
        raise ValueError(f"per: {sorted(unknown)} are not numeric covariates of the model "
                         f"({list(covariates)})")
    rows = []
    for f in factors:
        levels = factor_levels(posterior, f)
        b = posterior[f"b_{f}"]
        ref = levels[0]
        for lv in levels[1:]:
            rows.append(_row(f, str(lv), str(ref), _flat(b.sel({f: lv}) - b.sel({f: ref})),
                             interval))
    for c in covariates:
        beta = posterior["beta"].sel(covariate=c)
        for u in _units(per, c):
            rows.append(_row(c, unit_label(u), np.nan, _flat(u * beta), interval))
    for pair in pairs or []:
        if len(pair) != 3:
            raise ValueError(f"a pair is (factor, level, reference), got {pair!r}")
        f, lv, ref = pair
        if f not in factors:
            raise ValueError(f"pair {pair!r}: {f!r} is not a factor of the model "
                             f"({list(factors)})")
        levels = [str(x) for x in factor_levels(posterior, f)]
        missing = [x for x in (lv, ref) if str(x) not in levels]
        if missing:
            raise ValueError(f"pair {pair!r}: {missing} not levels of {f!r} ({levels})")
        b = posterior[f"b_{f}"]
        coords = b[f].values
        pick = {str(x): x for x in coords}
        rows.append(_row(f, str(lv), str(ref),
                         _flat(b.sel({f: pick[str(lv)]}) - b.sel({f: pick[str(ref)]})),
                         interval))
    df = pd.DataFrame(rows, columns=HR_COLUMNS)
    df.attrs["interval"] = float(interval)
    return df


def hazard_ratios(model, interval: float = 0.95, per: Mapping | None = None,
                  pairs: Sequence[tuple] | None = None, *,
                  at: Mapping | None = None) -> pd.DataFrame:
    """Hazard ratios of recovery for every factor level and covariate of a fitted model.

    Parameters
    ----------
    model : RecoveryModel
        A fitted model.
    interval : float
        Mass of the equal-tailed credible interval (default 0.95).
    per : mapping, optional
        Units for numeric covariates, e.g. ``{"age": 10}`` for the HR per 10 years (a list
        gives one row per unit). Covariates not named are per one unit.
    pairs : sequence of (factor, level, reference), optional
        Extra contrasts between non-reference levels, appended after the standard rows.
    at : mapping, optional
        Hazard ratios between chosen values of numeric covariates, e.g.
        ``{"age": [30, 50, 70]}``: each later value against the first, appended as rows
        with ``level`` and ``reference`` the values
        (:func:`~footdrop_bayes.summaries.smooth.value_hazard_ratios`). A smooth term's
        hazard ratio depends on the values compared, so it has no per-unit row: without
        ``at`` it gets rows at its 10th, 25th, 75th and 90th percentiles against its
        cohort median.

    Returns
    -------
    DataFrame
        ``hazard_ratios.csv``: columns ``term, level, reference, hr_median, hr_low,
        hr_high, p_direction`` (``p_direction`` = P(HR > 1)). Each non-reference level
        against the reference; a covariate row has ``reference`` empty (NaN) and ``level``
        empty for one unit of the column as given or ``"per <u>"`` for ``per`` units.
    """
    smooth = list(getattr(model, "smooth", None) or [])
    if not smooth and not at:
        return hazard_ratios_from_posterior(model.idata.posterior, factors=model.factors,
                                            covariates=model.covariates, interval=interval,
                                            per=per, pairs=pairs)
    from .smooth import default_values, term_reference, value_hazard_ratios

    clash = sorted(set(per or {}) & set(smooth))
    if clash:
        raise ValueError(f"per: {clash} are smooth terms, whose hazard ratio depends on the "
                         "values compared: give them in at= instead, e.g. "
                         f"at={{{clash[0]!r}: [30, 50, 70]}}")
    df = hazard_ratios_from_posterior(
        model.idata.posterior, factors=model.factors,
        covariates=[c for c in model.covariates if c not in smooth], interval=interval,
        per=per, pairs=pairs)
    values = {t: [term_reference(model, t), *default_values(model, t)]
              for t in smooth if t not in (at or {})} | dict(at or {})
    out = pd.concat([df, value_hazard_ratios(model, values, interval=interval)],
                    ignore_index=True)
    out.attrs["interval"] = float(interval)
    return out
