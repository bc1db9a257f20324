r"""Build the PyMC model of grouped-time recovery from :class:`ModelData`.

.. math::

    \eta_i &= \sum_f b_f[\text{level}_f(i)] + \sum_c \beta^{std}_c z_{ci} + u_{g(i)} \\
    b_f &\sim \text{ZeroSumNormal}(\sigma_f), \quad \sigma_f = \tau \lambda_f, \quad
        \log\lambda_f \sim N(0, s_\lambda), \quad \log\tau \sim N(\log m_\tau, s_\tau) \\
    \beta^{std}_c &\sim N(0, s_\beta), \quad u_g \sim N(0, \sigma_u), \quad
        \sigma_u \sim \text{HalfNormal}(s_u) \\
    \alpha_1 &\sim N(\log(1/T), s_0), \quad \alpha_k - \alpha_{k-1} \sim N(0, \sigma_{rw}),
        \quad \sigma_{rw} \sim \text{HalfNormal}(s_{rw})

Each of the level effects, the group intercepts and the baseline random walk is written
centred or non-centred, chosen from the information the data hold for it
(:func:`choose_parameterization`).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from .likelihood import ModelData, interval_loglik


def scale_floor(config: dict, q: float = 0.01) -> float:
    """The ``q`` quantile of the prior of a factor scale ``sigma_f = tau * lambda_f``.

    ``log sigma_f ~ N(log tau_median, sqrt(tau_log_sd**2 + lambda_log_sd**2))``.
    """
    from scipy.stats import norm

    sd = float(np.hypot(config["tau_log_sd"], config["lambda_log_sd"]))
    return float(config["tau_median"] * np.exp(norm.ppf(q) * sd))


def centred_min_events(config: dict) -> int:
    """Recoveries per level above which a level effect is written centred.

    ``config["centred_min_events"]`` if set; otherwise derived from the prior: a level
    with ``e`` recoveries has a log-rate standard error of about ``1/sqrt(e)``, and the
    likelihood pins the effect more tightly than any plausible prior scale once that SE
    is below the 1% prior quantile of ``sigma_f`` (0.22 with the defaults: 21 events).
    """
    value = config.get("centred_min_events")
    if value is not None:
        return int(value)
    return int(np.ceil(scale_floor(config) ** -2))


def choose_parameterization(data: ModelData, config: dict) -> dict:
    """Centred or non-centred for each factor, the group and ``"baseline"``.

    ``"auto"``: centred when every level (every grid interval, for the baseline) has at
    least :func:`centred_min_events` recoveries, non-centred otherwise. With that much
    information the likelihood fixes each effect to within less than the smallest
    plausible prior scale: the centred form is then nearly Gaussian, while the
    non-centred one has a ``b = sigma * z`` ridge whose width changes with ``sigma``
    (the measured divergences at 1,000-5,000 patients). With little information the
    prior dominates and the centred form has the funnel; non-centred removes it.
    Because the factor scales have zero-avoiding (log-normal) priors, a factor without
    effect no longer drives its scale towards zero, so the event count alone decides
    (see docs/validation_model.md for the measurements).
    """
    p = config["parameterization"]
    threshold = centred_min_events(config)
    names = list(data.factors) + ([data.group] if data.group else [])
    out = {}
    for name in [*names, "baseline"]:
        choice = p.get(name, "auto") if isinstance(p, dict) else p
        if choice == "auto":
            counts = (data.events_per_interval() if name == "baseline"
                      else data.events_per_level(name).to_numpy())
            choice = "centred" if counts.min() >= threshold else "non-centred"
        out[name] = choice
    return out


def model_coords(data: ModelData) -> dict:
    """Coordinates: time (interval end times), steps, factor levels, covariates, groups."""
    t = data.time_unit
    coords = {t: data.grid[1:].tolist()}
    if len(data.widths) > 1:
        coords[f"{t}_step"] = data.grid[2:].tolist()
    for f in data.factors:
        coords[f] = [str(x) for x in data.levels[f]]
    if data.factors:
        coords["factor"] = list(data.factors)
    if data.covariates:
        coords["covariate"] = list(data.covariates)
    if data.group:
        coords[data.group] = [str(x) for x in data.levels[data.group]]
    coords["pattern"] = np.arange(len(data.patterns["weight"])).tolist()
    return coords


def _baseline(data: ModelData, config: dict, choice: str):
    t = data.time_unit
    k = len(data.widths)
    mu0 = float(np.log(1.0 / data.follow_up))
    sigma_rw = pm.HalfNormal("sigma_rw", sigma=config["rw_sigma"])
    if k == 1:
        a1 = pm.Normal("alpha_first", mu=mu0, sigma=config["baseline_sd"])
        return pm.Deterministic("alpha", a1[None], dims=t)
    if choice == "centred":
        return pm.GaussianRandomWalk(
            "alpha", sigma=sigma_rw, init_dist=pm.Normal.dist(mu0, config["baseline_sd"]),
            dims=t)
    a1 = pm.Normal("alpha_first", mu=mu0, sigma=config["baseline_sd"])
    steps = pm.Normal("alpha_step_z", 0.0, 1.0, dims=f"{t}_step")
    path = pt.concatenate([pt.zeros((1,)), pt.cumsum(steps)])
    return pm.Deterministic("alpha", a1 + sigma_rw * path, dims=t)


def _factor_scales(data: ModelData, config: dict):
    """Factor scales ``sigma_f = tau * lambda_f`` with log-normal (zero-avoiding) priors.

    Written on the log scale (``log tau`` and ``log lambda_f`` are Gaussian), so the
    scales themselves never form a funnel.
    """
    tau_z = pm.Normal("tau_z", 0.0, 1.0)
    lam_z = pm.Normal("lambda_z", 0.0, 1.0, dims="factor")
    log_tau = np.log(config["tau_median"]) + config["tau_log_sd"] * tau_z
    tau = pm.Deterministic("tau", pt.exp(log_tau))
    lam = pm.Deterministic("lambda_factor", pt.exp(config["lambda_log_sd"] * lam_z),
                           dims="factor")
    return tau * lam


def _factor_effects(data: ModelData, config: dict, choices: dict, pattern_codes: dict):
    eta = 0.0
    if not data.factors:
        return eta
    scales = _factor_scales(data, config)
    for i, f in enumerate(data.factors):
        sigma = pm.Deterministic(f"sigma_{f}", scales[i])
        if choices[f] == "centred":
            b = pm.ZeroSumNormal(f"b_{f}", sigma=sigma, dims=f)
        else:
            z = pm.ZeroSumNormal(f"z_{f}", sigma=1.0, dims=f)
            b = pm.Deterministic(f"b_{f}", sigma * z, dims=f)
        pm.Deterministic(f"log_hr_{f}", b - b[0], dims=f)
        eta = eta + b[pattern_codes[f]]
    return eta


def _group_effects(data: ModelData, config: dict, choice: str, codes):
    g = data.group
    sigma = pm.HalfNormal(f"sigma_{g}", sigma=config["group_sigma"])
    if choice == "centred":
        u = pm.Normal(f"u_{g}", 0.0, sigma, dims=g)
    else:
        z = pm.Normal(f"u_{g}_z", 0.0, 1.0, dims=g)
        u = pm.Deterministic(f"u_{g}", sigma * z, dims=g)
    return u[codes]


def build_model(data: ModelData, config: dict) -> pm.Model:
    """The PyMC model (no sampling). The likelihood enters as the potential ``loglik``."""
    choices = choose_parameterization(data, config)
    pat = data.patterns
    with pm.Model(coords=model_coords(data)) as model:
        alpha = _baseline(data, config, choices["baseline"])
        eta = _factor_effects(data, config, choices, pat["codes"])
        if data.covariates:
            beta_std = pm.Normal("beta_std", 0.0, config["beta_sigma"], dims="covariate")
            pm.Deterministic("beta", beta_std / data.scaling["sd"].to_numpy(),
                             dims="covariate")
            eta = eta + pt.dot(pat["z"], beta_std)
        if data.group:
            eta = eta + _group_effects(data, config, choices[data.group],
                                       pat["codes"][data.group])
        eta = eta + pt.zeros(len(pat["weight"]))
        ll = interval_loglik(alpha, eta, data.widths, pat["l_idx"], pat["r_idx"],
                             pat["event"])
        pm.Potential("loglik", pt.sum(pat["weight"] * ll))
    model.parameterization = choices
    return model
