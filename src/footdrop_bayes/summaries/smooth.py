r"""Summaries of smooth terms: partial effects, hazard ratios between values, g-computation.

For smooth term :math:`x` with linear part :math:`\beta` and wiggly part :math:`f`
(:mod:`footdrop_bayes.model.smooth`), the **partial effect** at value :math:`v` is the log
hazard ratio against the cohort median :math:`\tilde x`, all else equal:

.. math::

    g_s(v) = \beta_s (v - \tilde x) + f_s(v) - f_s(\tilde x)

in each posterior draw :math:`s`; the table gives its median and equal-tailed interval
on a grid of values spanning the data. The hazard ratio between two values is
:math:`\exp(g_s(v) - g_s(r))`. Recovery probability by g-computation at a value sets
the covariate to it for every patient of the cohort (other covariates kept) and averages
the patients' curves. The **importance** of a smooth term is the SD across patients of
its whole contribution :math:`\beta x_i + f(x_i)`: as :math:`f` is centred and detrended
over the cohort, its square is :math:`\beta^2 \mathrm{var}(x) + c^\top G c` with the
basis' Gram matrix :math:`G` over the cohort's distinct values (no patients x draws).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from ._common import SAMPLE_DIMS, interval_quantiles, summarise

PARTIAL_COLUMNS = ["term", "value", "log_hr_median", "log_hr_low", "log_hr_high",
                   "reference"]

#: grid points of ``partial_effects.csv`` per smooth term
N_GRID = 60


def _terms(model, terms) -> list[str]:
    smooth = list(getattr(model, "smooth", None) or [])
    if terms is None:
        return smooth
    terms = [terms] if isinstance(terms, str) else list(terms)
    bad = [t for t in terms if t not in smooth]
    if bad:
        raise ValueError(f"{bad} are not smooth terms of the model ({smooth})")
    return terms


def term_reference(model, term: str) -> float:
    """The cohort median of ``term``: the reference of its partial effect."""
    return float(np.median(model.cohort.covariates[term].to_numpy(float)))


def term_log_hr(model, term: str, values, reference: float | None = None) -> xr.DataArray:
    """Log hazard ratio of ``term`` at ``values`` against ``reference``, per draw.

    Works for smooth terms (linear + wiggly part) and plain numeric covariates
    (``beta * (v - reference)``). ``reference`` defaults to the cohort median.

    Returns
    -------
    xarray.DataArray
        Dims ``chain, draw, value``.

    Raises
    ------
    DataError
        When a value (or the reference) lies outside a smooth term's data range.
    """
    from ..model.smooth import coefficient_name

    if term not in model.covariates:
        raise ValueError(f"{term!r} is not a numeric covariate of the model "
                         f"({list(model.covariates)})")
    post = model.idata.posterior
    values = np.atleast_1d(np.asarray(values, float))
    ref = term_reference(model, term) if reference is None else float(reference)
    beta = post["beta"].sel(covariate=term).values                     # (c, d)
    out = beta[..., None] * (values - ref)
    basis = model.data.smooth.get(term)
    if basis is not None:
        design = basis.design(np.append(values, ref), table=f"values of {term!r}")
        f = np.einsum("cdm,nm->cdn", post[coefficient_name(term)].values, design)
        out = out + f[..., :-1] - f[..., -1:]
    return xr.DataArray(out, dims=("chain", "draw", "value"),
                        coords={"chain": post.chain.values, "draw": post.draw.values,
                                "value": values}, name="log_hr",
                        attrs={"term": term, "reference": ref})


def term_grid(model, term: str, n: int = N_GRID) -> np.ndarray:
    """``n`` equally spaced values from the smallest to the largest observed value."""
    x = model.cohort.covariates[term].to_numpy(float)
    return np.linspace(np.min(x), np.max(x), int(n))


def partial_effects(model, terms: Sequence[str] | None = None, *, n: int = N_GRID,
                    interval: float = 0.95) -> pd.DataFrame:
    """Partial effect of each smooth term on a grid spanning its data.

    Parameters
    ----------
    model : RecoveryModel
        A fitted model with smooth terms.
    terms : sequence of str, optional
        Smooth terms (default all).
    n : int
        Grid values per term (at least 50 recommended; default :data:`N_GRID`).
    interval : float
        Mass of the equal-tailed credible interval.

    Returns
    -------
    DataFrame
        ``partial_effects.csv``: ``term, value, log_hr_median, log_hr_low, log_hr_high,
        reference`` (the cohort median the log hazard ratio is against).
    """
    rows = []
    for t in _terms(model, terms):
        lhr = term_log_hr(model, t, term_grid(model, t, n))
        med, low, high = summarise(lhr, interval)
        rows.append(pd.DataFrame({"term": t, "value": lhr["value"].values,
                                  "log_hr_median": med.values, "log_hr_low": low.values,
                                  "log_hr_high": high.values,
                                  "reference": lhr.attrs["reference"]}))
    df = (pd.concat(rows, ignore_index=True) if rows
          else pd.DataFrame(columns=PARTIAL_COLUMNS))
    df.attrs["interval"] = float(interval)
    return df


def default_values(model, term: str) -> list[float]:
    """Values of a smooth term's default contrasts: 10th, 25th, 75th, 90th percentiles."""
    x = model.cohort.covariates[term].to_numpy(float)
    return [float(v) for v in np.quantile(x, [0.1, 0.25, 0.75, 0.9])]


def value_hazard_ratios(model, at: Mapping[str, Sequence[float]] | None = None, *,
                        interval: float = 0.95) -> pd.DataFrame:
    """Hazard ratios between chosen values of numeric covariates (smooth or linear).

    Parameters
    ----------
    model : RecoveryModel
    at : mapping of str to sequence of float, optional
        ``{"age": [30, 50, 70]}``: each later value against the first (the reference).
        Default: every smooth term at its 10th, 25th, 75th and 90th percentile against
        its cohort median.
    interval : float

    Returns
    -------
    DataFrame
        Columns of ``hazard_ratios.csv`` (``term, level, reference, hr_median, hr_low,
        hr_high, p_direction``): ``level`` and ``reference`` are the values as text.
    """
    from .hazard_ratios import HR_COLUMNS, _row

    if at is None:
        at = {t: [term_reference(model, t), *default_values(model, t)]
              for t in _terms(model, None)}
    rows = []
    for term, values in at.items():
        values = [float(v) for v in (values if isinstance(values, Sequence | np.ndarray)
                                     else [values])]
        if len(values) < 2:
            raise ValueError(f"at[{term!r}] needs a reference and at least one more value, "
                             f"got {values}")
        lhr = term_log_hr(model, term, values[1:], reference=values[0])
        for v in values[1:]:
            draws = lhr.sel(value=v).values.ravel()
            rows.append(_row(term, f"{v:g}", f"{values[0]:g}", draws, interval))
    df = pd.DataFrame(rows, columns=HR_COLUMNS)
    df.attrs["interval"] = float(interval)
    return df


def recovery_at(model, at: Mapping[str, Sequence[float]], *, times=None,
                interval: float = 0.95) -> pd.DataFrame:
    """Recovery probability by g-computation with a covariate set to chosen values.

    Every patient's ``term`` is set to the value (their other covariates kept) and the
    model's recovery curves are averaged over the cohort's distinct profiles.

    Parameters
    ----------
    model : RecoveryModel
    at : mapping of str to sequence of float
        Values per numeric covariate, e.g. ``{"age": [30, 50, 70]}``.
    times : sequence of float, optional
        Times within follow-up (default the end of follow-up).
    interval : float

    Returns
    -------
    DataFrame
        ``term, value, time, recovery_median, recovery_low, recovery_high``.
    """
    from ._common import check_times, model_data
    from .gcomp import _default_time, averaged_recovery

    cohort = model.cohort
    times = check_times(times, cohort.grid, [_default_time(cohort)], unit=cohort.time_unit)
    base = model_data(model)
    rows = []
    for term, values in at.items():
        if term not in model.covariates:
            raise ValueError(f"{term!r} is not a numeric covariate of the model "
                             f"({list(model.covariates)})")
        for v in np.atleast_1d(np.asarray(values, float)):
            data = base.assign(**{term: float(v)})
            draws = averaged_recovery(model, data, times)
            med, low, high = summarise(draws, interval)
            for k, t in enumerate(times):
                rows.append({"term": term, "value": float(v), "time": float(t),
                             "recovery_median": float(med.values[k]),
                             "recovery_low": float(low.values[k]),
                             "recovery_high": float(high.values[k])})
    df = pd.DataFrame(rows, columns=["term", "value", "time", "recovery_median",
                                     "recovery_low", "recovery_high"])
    df.attrs["interval"] = float(interval)
    return df


def smooth_importance(model, term: str) -> xr.DataArray:
    """SD across the cohort's patients of a smooth term's whole contribution, per draw.

    ``sqrt(beta^2 var(x) + c' G c)``: the linear and wiggly parts are uncorrelated over
    the cohort (the wiggly part is detrended), so the variances add. ``G`` is the
    patient-weighted Gram matrix of the basis over the distinct values.
    """
    from ..model.smooth import coefficient_name

    post = model.idata.posterior
    x = model.cohort.covariates[term].to_numpy(float)
    values, counts = np.unique(x, return_counts=True)
    w = counts / counts.sum()
    design = model.data.smooth[term].design(values, table="cohort")
    gram = design.T @ (w[:, None] * design)
    coef = post[coefficient_name(term)].values
    wiggly = np.einsum("cdm,mk,cdk->cd", coef, gram, coef)
    beta = post["beta"].sel(covariate=term).values
    var_x = float(w @ (values - w @ values) ** 2)
    return xr.DataArray(np.sqrt(beta ** 2 * var_x + np.maximum(wiggly, 0.0)),
                        dims=SAMPLE_DIMS,
                        coords={"chain": post.chain.values, "draw": post.draw.values})


def with_smooth_importance(model, imp: xr.DataArray) -> xr.DataArray:
    """``imp`` (dims ``chain, draw, term``) with each smooth term's importance replaced."""
    smooth = list(getattr(model, "smooth", None) or [])
    if not smooth:
        return imp
    imp = imp.copy()
    for t in smooth:
        imp.loc[{"term": t}] = smooth_importance(model, t).transpose(*imp.sel(term=t).dims)
    return imp


def smooth_terms_table(model, interval: float = 0.95) -> pd.DataFrame:
    """One row per smooth term: basis, size, data range, reference, wiggliness.

    ``sigma_median`` / ``sigma_low`` / ``sigma_high`` summarise the scale of the wiggly part
    (``sigma_smooth_<term>``): near 0, the curve is (close to) its line. ``split``: the
    term is its line plus the wiggly part (``model_config["smooth_split"]``, default) or
    one penalised smooth; ``centred``: how many basis coefficients the data pin enough
    to be written centred (:func:`~footdrop_bayes.model.smooth.choose_centred`).
    """
    lo_q, hi_q = interval_quantiles(interval)
    rows = []
    for t, b in model.data.smooth.items():
        s = model.idata.posterior[f"sigma_smooth_{t}"].values.ravel()
        rows.append({"term": t, "basis": b.kind, "basis_size": b.size, "min": b.lo,
                     "max": b.hi, "reference": term_reference(model, t),
                     "sigma_median": float(np.median(s)),
                     "sigma_low": float(np.quantile(s, lo_q)),
                     "sigma_high": float(np.quantile(s, hi_q)),
                     "split": b.split, "centred": int(np.sum(b.params.get("centred", 0)))})
    return pd.DataFrame(rows)
