r"""Build the PyMC model of grouped-time recovery from :class:`ModelData`.

.. math::

    \eta_i &= \sum_f b_f[\text{level}_f(i)] + \sum_c \beta^{std}_c z_{ci} + u_{g(i)} \\
    b_f &\sim \text{ZeroSumNormal}(\sigma_f), \quad \sigma_f = \tau \lambda_f, \quad
        \lambda_f \sim \text{HalfNormal}(1), \quad \tau \sim \text{HalfNormal}(s_\tau) \\
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


def _crude_signal(data: ModelData, name: str) -> float:
    """Spread of the crude log recovery rates across levels, in standard errors.

    Rates are events / time at risk per level (an event's time at risk ends mid-interval);
    the standard error of a crude log rate is 1/sqrt(events).
    """
    grid = data.grid
    exposure = np.where(data.event, 0.5 * (grid[data.l_idx] + grid[data.r_idx]),
                        grid[data.l_idx])
    codes, n = data.codes[name], len(data.levels[name])
    events = np.bincount(codes[data.event], minlength=n).astype(float)
    time = np.bincount(codes, weights=exposure, minlength=n)
    ok = (events > 0) & (time > 0)
    if ok.sum() < 2:
        return 0.0
    log_rate = np.log(events[ok] / time[ok])
    se = np.sqrt(np.mean(1.0 / events[ok]))
    return float(np.std(log_rate, ddof=1) / se)


def choose_parameterization(data: ModelData, config: dict) -> dict:
    """Centred or non-centred for each factor, the group and ``"baseline"``.

    ``"auto"``: centred when every level (every grid interval, for the baseline) has at
    least ``config["centred_min_events"]`` recoveries **and** (for factors and groups) the
    crude log recovery rates of the levels differ by more than
    ``config["centred_min_signal"]`` standard errors. Then the likelihood pins each
    effect down well away from zero and the centred form has no funnel, whereas the
    non-centred one has a ``sigma * z = b`` ridge. Otherwise (little data, or a factor
    with little effect, whose scale can shrink towards zero) non-centred.
    """
    p = config["parameterization"]
    threshold = config["centred_min_events"]
    names = list(data.factors) + ([data.group] if data.group else [])
    out = {}
    for name in [*names, "baseline"]:
        choice = p.get(name, "auto") if isinstance(p, dict) else p
        if choice == "auto":
            counts = (data.events_per_interval() if name == "baseline"
                      else data.events_per_level(name).to_numpy())
            strong = counts.min() >= threshold and (
                name == "baseline"
                or _crude_signal(data, name) >= config["centred_min_signal"])
            choice = "centred" if strong else "non-centred"
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


def _factor_effects(data: ModelData, config: dict, choices: dict, pattern_codes: dict):
    eta = 0.0
    if not data.factors:
        return eta
    tau = pm.HalfNormal("tau", sigma=config["tau_sigma"])
    lam = pm.HalfNormal("lambda_factor", sigma=1.0, dims="factor")
    for i, f in enumerate(data.factors):
        sigma = pm.Deterministic(f"sigma_{f}", tau * lam[i])
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
