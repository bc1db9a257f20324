r"""Clinic (centre) effects of a multi-centre model: spread, median hazard ratio, each clinic.

A model fitted with ``group="clinic"`` has clinic intercepts ``u_clinic`` (dim
``clinic``) on the log hazard of recovery, with SD ``sigma_clinic``. Summarised here, per
posterior draw and then over the draws (median and equal-tailed interval):

- **clinic SD** ``sigma``: the spread of clinic effects on the log-hazard scale;
- **median hazard ratio** (MHR; Merlo et al. 2006, for frailty / survival models Austin
  et al. 2017):

  .. math::

      \mathrm{MHR} = \exp\bigl(\sqrt{2}\,\sigma\,\Phi^{-1}(0.75)\bigr)
      \approx \exp(0.954\,\sigma)

  Take two patients with the same characteristics at two clinics picked at random; put
  the one at the faster-recovering clinic first: the hazard ratio between them is at
  least the MHR for half of such pairs. ``MHR = 1`` means no variation between clinics;
  it is on the same scale as the factors' hazard ratios, so it can be compared with them;
- **each clinic against the average clinic**: the hazard ratio
  :math:`\exp(u_g - \bar u)`, with :math:`\bar u = \sum_g w_g u_g` the average the
  model's baseline stands for: by default (``model_config["group_weights"]`` =
  ``"events"``) the **recovery-weighted** average clinic, :math:`w_g` = the clinic's share
  of the cohort's recoveries (the weights of the model's sum-to-zero constraint, so
  :math:`\bar u = 0` in every draw and the HR is :math:`\exp(u_g)`); with ``"equal"``
  the plain mean of the clinics. ``P(above average)`` = P(HR > 1, faster recovery than
  the average clinic) and ``P(below average)`` = P(HR < 1). A large clinic sits close to
  the recovery-weighted average by construction, a small one can lie far from it. The
  effects are *shrunken* (partially pooled): a small clinic is pulled towards the
  average by as much as its few patients leave undetermined.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy.stats import norm

from ._common import SAMPLE_DIMS, interval_quantiles, level_counts

CLINIC_COLUMNS = ["term", "level", "n_patients", "n_events", "hr_median", "hr_low",
                  "hr_high", "p_above", "p_below"]
VARIATION_COLUMNS = ["term", "n_clinics", "sd_median", "sd_low", "sd_high", "mhr_median",
                     "mhr_low", "mhr_high"]
#: ``sqrt(2) * Phi^-1(0.75)``: MHR = exp(MHR_FACTOR * sigma)
MHR_FACTOR = float(np.sqrt(2.0) * norm.ppf(0.75))


def median_hazard_ratio(sigma):
    """Median hazard ratio of a normal log-hazard random effect with SD ``sigma``.

    ``exp(sqrt(2) * sigma * Phi^-1(0.75))``, elementwise (numbers, arrays or DataArrays
    of draws alike).
    """
    return np.exp(MHR_FACTOR * sigma)


def _group_var(posterior: xr.Dataset, group: str, prefix: str) -> xr.DataArray:
    name = f"{prefix}_{group}"
    if name not in posterior:
        raise KeyError(f"the posterior has no variable {name!r}: was the model fitted with "
                       f"group={group!r}?")
    return posterior[name]


def clinic_log_hr_draws(posterior: xr.Dataset, group: str, weights=None) -> xr.DataArray:
    """Per draw, each clinic's log hazard ratio against the average clinic.

    ``u_<group> - sum_g w_g u_<group>[g]``; dims ``chain, draw, <group>``.

    Parameters
    ----------
    posterior : xarray.Dataset
        With ``u_<group>``.
    group : str
        The group (clinic) column.
    weights : array-like, optional
        One weight per clinic in the posterior's order (normalised here) defining the
        average clinic; ``None``: the plain mean. :func:`clinic_effects` passes the
        model's own constraint weights (recoveries per clinic by default).
    """
    u = _group_var(posterior, group, "u")
    if weights is None:
        return (u - u.mean(group)).rename(f"log_hr_{group}")
    w = np.asarray(weights, float)
    if w.shape != (u.sizes[group],) or not np.isfinite(w).all() or (w < 0).any() \
            or w.sum() <= 0:
        raise ValueError(f"weights must be {u.sizes[group]} non-negative numbers (one per "
                         f"{group}) with a positive sum, got {weights!r}")
    w = xr.DataArray(w / w.sum(), dims=[group], coords={group: u[group].values})
    return (u - (u * w).sum(group)).rename(f"log_hr_{group}")


def reference_weights(model) -> np.ndarray:
    """Weights of the average clinic the model's baseline stands for, one per clinic in
    the posterior's order: recoveries per clinic (``model_config["group_weights"]`` =
    ``"events"``, the default) or equal weights (``"equal"``)."""
    group = _require_group(model)
    levels = [str(x) for x in model.idata.posterior[f"u_{group}"][group].values]
    if model.model_config.get("group_weights", "events") == "equal":
        return np.ones(len(levels))
    events = model.data.events_per_level(group)
    events.index = events.index.astype(str)
    w = events.reindex(levels).to_numpy(float)
    return w if w.sum() > 0 else np.ones(len(levels))


def _quantiles(values: np.ndarray, interval: float) -> tuple[float, float, float]:
    lo, hi = interval_quantiles(interval)
    med, low, high = np.quantile(values, [0.5, lo, hi])
    return float(med), float(low), float(high)


def clinic_variation_from_posterior(posterior: xr.Dataset, group: str,
                                    interval: float = 0.95) -> pd.DataFrame:
    """Clinic SD and median hazard ratio from posterior draws; see :func:`clinic_variation`."""
    sigma = _group_var(posterior, group, "sigma").values.ravel()
    sd = _quantiles(sigma, interval)
    # the MHR is monotone in sigma: its quantiles are those of sigma, transformed
    mhr = _quantiles(median_hazard_ratio(sigma), interval)
    n = int(_group_var(posterior, group, "u").sizes[group])
    df = pd.DataFrame([[group, n, *sd, *mhr]], columns=VARIATION_COLUMNS)
    df.attrs["interval"] = float(interval)
    return df


def clinic_effects_from_posterior(posterior: xr.Dataset, data: pd.DataFrame,
                                  events: pd.Series, group: str,
                                  interval: float = 0.95, weights="events",
                                  patients=None) -> pd.DataFrame:
    """Per-clinic hazard ratios from posterior draws; see :func:`clinic_effects`.

    Parameters
    ----------
    posterior : xarray.Dataset
        With ``u_<group>`` (dims ``chain, draw, <group>``).
    data : DataFrame
        The patients' ``group`` column (one row per patient).
    events : Series
        Recovery indicator per patient, aligned with ``data``.
    group : str
        The group (clinic) column.
    interval : float
        Mass of the equal-tailed credible interval.
    weights : "events", "equal" or array-like
        The average clinic: recovery-weighted (``"events"``, the default constraint of
        the model; the recoveries are counted from ``data`` and ``events``), the plain
        mean (``"equal"``), or one weight per clinic in the posterior's order.
    patients : array-like, optional
        Patients per row of ``data`` (a collapsed cohort's ``cohort.weights``); ``None``:
        one patient per row.
    """
    levels = list(_group_var(posterior, group, "u")[group].values)
    n = level_counts(data, group, levels, patients)
    labels = data[group].astype(str).to_numpy()
    ev = np.asarray(events, dtype=float)
    if patients is not None:
        ev = ev * np.asarray(patients, float)
    e = np.array([ev[labels == str(lv)].sum() for lv in levels])
    if isinstance(weights, str):
        if weights not in ("events", "equal"):
            raise ValueError(f"weights must be 'events', 'equal' or numbers, got {weights!r}")
        weights = e if weights == "events" and e.sum() > 0 else np.ones(len(levels))
    log_hr = clinic_log_hr_draws(posterior, group, weights)
    dims = [d for d in SAMPLE_DIMS if d in log_hr.dims]
    x = log_hr.transpose(*dims, group).values.reshape(-1, len(levels))
    lo, hi = interval_quantiles(interval)
    q = np.exp(np.quantile(x, [0.5, lo, hi], axis=0))
    df = pd.DataFrame({
        "term": group, "level": [str(lv) for lv in levels],
        "n_patients": n.astype(int), "n_events": e.astype(int),
        "hr_median": q[0], "hr_low": q[1], "hr_high": q[2],
        "p_above": (x > 0).mean(axis=0), "p_below": (x < 0).mean(axis=0),
    }, columns=CLINIC_COLUMNS)
    df.attrs["interval"] = float(interval)
    return df


def _require_group(model) -> str:
    group = getattr(model, "group", None)
    if not group:
        raise ValueError("the model has no clinic / group effects: fit it with "
                         "RecoveryModel(..., group='clinic') (CLI: --group clinic)")
    if model.idata is None:
        raise RuntimeError("the model has not been fitted yet: call .fit() first")
    return group


def clinic_variation(model, interval: float = 0.95) -> pd.DataFrame:
    """How much clinics differ: the clinic SD and the median hazard ratio (MHR).

    Parameters
    ----------
    model : RecoveryModel
        A fitted model with ``group``.
    interval : float
        Mass of the equal-tailed credible interval (default 0.95).

    Returns
    -------
    DataFrame
        ``clinic_variation.csv``, one row: ``term`` (the group column), ``n_clinics``,
        ``sd_median, sd_low, sd_high`` (``sigma_<group>`` on the log-hazard scale) and
        ``mhr_median, mhr_low, mhr_high`` (:func:`median_hazard_ratio` per draw).
    """
    group = _require_group(model)
    return clinic_variation_from_posterior(model.idata.posterior, group, interval)


def clinic_effects(model, interval: float = 0.95) -> pd.DataFrame:
    """Each clinic's (shrunken) hazard ratio of recovery against the average clinic.

    Parameters
    ----------
    model : RecoveryModel
        A fitted model with ``group``.
    interval : float
        Mass of the equal-tailed credible interval (default 0.95).

    Returns
    -------
    DataFrame
        ``clinic_effects.csv``: columns ``term`` (the group column), ``level`` (the
        clinic), ``n_patients``, ``n_events`` (recoveries), ``hr_median, hr_low,
        hr_high`` (``exp(u_g - sum_g w_g u_g)``, against the average clinic of the
        model's constraint: recovery-weighted by default, :func:`reference_weights`),
        ``p_above`` = P(HR > 1) and ``p_below`` = P(HR < 1); one row per clinic in the
        model's order. ``attrs["reference"]``: ``"recovery-weighted"`` or ``"equal"``.
    """
    group = _require_group(model)
    data = model.cohort.covariates[[group]]
    events = model.cohort.intervals["event"].reindex(data.index)
    patients = None if model.cohort.weights is None else \
        model.cohort.weights.reindex(data.index).to_numpy(float)
    df = clinic_effects_from_posterior(model.idata.posterior, data, events, group,
                                       interval, weights=reference_weights(model),
                                       patients=patients)
    df.attrs["reference"] = ("equal" if model.model_config.get("group_weights", "events")
                             == "equal" else "recovery-weighted")
    return df


def average_label(effects: pd.DataFrame, group: str = "clinic") -> str:
    """Which average clinic a :func:`clinic_effects` table is against, in words:
    ``"recovery-weighted average clinic"`` (the model's default reference) or
    ``"average clinic"`` (plain mean; ``model_config["group_weights"] = "equal"``)."""
    weighted = effects.attrs.get("reference", "recovery-weighted") == "recovery-weighted"
    return f"{'recovery-weighted ' if weighted else ''}average {group}"


def reference_sentence(effects: pd.DataFrame, group: str = "clinic") -> str:
    """One sentence for reports: what "the average clinic" of the table is."""
    if effects.attrs.get("reference", "recovery-weighted") != "recovery-weighted":
        return (f"The average {group} is the plain mean of the {group}s' effects (the "
                f"model's {group} effects sum to zero with equal weights).")
    return (f"The average {group} is the recovery-weighted one: each {group} counts by "
            f"its share of the cohort's recoveries, as in the model, whose baseline hazard "
            f"is that of this average {group}; a large {group} therefore lies close to it "
            f"and a small one can lie far from it.")


def credible_clinics(effects: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Clinics whose interval lies wholly above 1 (faster) and wholly below 1 (slower)."""
    above = effects.loc[effects["hr_low"] > 1, "level"].astype(str).tolist()
    below = effects.loc[effects["hr_high"] < 1, "level"].astype(str).tolist()
    return above, below
