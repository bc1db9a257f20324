r"""Build the PyMC model of grouped-time recovery from :class:`ModelData`.

.. math::

    \eta_i &= \sum_f b_f[\text{level}_f(i)] + \sum_c \beta^{std}_c z_{ci} + u_{g(i)} \\
    b_f &\sim \text{ZeroSumNormal}(\sigma_f), \quad \sigma_f = \tau \lambda_f, \quad
        \log\lambda_f \sim N(0, s_\lambda), \quad \log\tau \sim N(\log m_\tau, s_\tau) \\
    \beta^{std}_c &\sim N(0, s_\beta), \quad u \sim \text{ZeroSumNormal}(\sigma_u), \quad
        \log\sigma_u \sim N(\log m_u, s_u) \\
    \alpha_1 &\sim N(\log(1/T), s_0), \quad \alpha_k - \alpha_{k-1} \sim N(0, \sigma_{rw}),
        \quad \log\sigma_{rw} \sim N(\log m_{rw}, s_{rw})

The factor scales, the group scale and the random-walk step SD have log-normal
(zero-avoiding) priors,
written on the log scale, so that no scale can collapse to 0 and open a funnel
(reasoning in :mod:`footdrop_bayes.model.priors`). Each of the level effects, the group
intercepts and the baseline random walk is written centred or non-centred, chosen from
the information the data hold for it against the prior floor of its scale
(:func:`choose_parameterization`). The level effects of factors and of the group sum to
zero weighted by recoveries per level (``ZeroSumNormal`` above, then shifted so that
``sum_l w_l b_l = 0`` with ``w_l`` the level's share of recoveries; :func:`level_effects`):
the baseline is the recovery-weighted average level.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from .likelihood import ModelData
from .profile_terms import profile_arrays, profile_loglik, profile_terms
from .smooth import linear_coefficients, smooth_arrays, smooth_coords, smooth_effects


def _lognormal_quantile(median: float, log_sd: float, q: float) -> float:
    from scipy.stats import norm

    return float(median * np.exp(norm.ppf(q) * log_sd))


def scale_floor(config: dict, q: float = 0.01) -> float:
    """The ``q`` quantile of the prior of a factor scale ``sigma_f = tau * lambda_f``.

    ``log sigma_f ~ N(log tau_median, sqrt(tau_log_sd**2 + lambda_log_sd**2))``.
    """
    sd = float(np.hypot(config["tau_log_sd"], config["lambda_log_sd"]))
    return _lognormal_quantile(config["tau_median"], sd, q)


#: Prior quantile of ``sigma_rw`` below which every crude step SE must lie for a centred
#: walk. Measured: at 5,000 patients (step SEs 0.09-0.10) the centred walk had 0
#: divergences and 3x the ESS per second of the non-centred one; at 1,000 (SEs ~0.22) the
#: walk stays non-centred. The 1% quantile (0.078) left 5,000 non-centred.
BASELINE_QUANTILE = 0.10


def rw_floor(config: dict, q: float = 0.01) -> float:
    """The ``q`` quantile of the prior of the random-walk step SD ``sigma_rw``.

    ``log sigma_rw ~ N(log rw_median, rw_log_sd)``: 0.078 with the defaults (q = 1%).
    """
    return _lognormal_quantile(config["rw_median"], config["rw_log_sd"], q)


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


def group_floor(config: dict, q: float = 0.01) -> float:
    """The ``q`` quantile of the prior of the group scale ``sigma_u``.

    ``log sigma_u ~ N(log group_median, group_log_sd)``: 0.094 with the defaults (q = 1%).
    """
    return _lognormal_quantile(config["group_median"], config["group_log_sd"], q)


def group_min_events(config: dict) -> int:
    """Recoveries per group above which the group intercepts may be written centred.

    The factors' rule applied to the group's own scale: the log-rate SE ``1/sqrt(e)`` of
    every group below the 1% prior quantile of ``sigma_u`` (:func:`group_floor`, 0.094
    with the defaults: 114 events). ``config["centred_min_events"]`` overrides it.
    """
    value = config.get("centred_min_events")
    if value is not None:
        return int(value)
    return int(np.ceil(group_floor(config) ** -2))


def group_min_groups(config: dict) -> int:
    """Number of groups the group needs before it may be written centred: 1 by default.

    ``config["centred_min_groups"]`` overrides it. The number of groups does not enter
    the default rule: with few groups ``sigma_u`` is barely identified and its posterior
    spans its prior down to the floor, but the centred form only has a funnel where the
    conditional SD of each ``u_j`` given ``sigma_u`` is set by ``sigma_u``. When every
    group's data pin its effect more tightly than the scale's floor
    (:func:`group_min_events`), that conditional SD is the data's, whatever ``sigma_u``,
    and the centred form is nearly Gaussian; the non-centred one then has the ridge
    ``u_j = sigma_u * z_j`` (measured on 4 clinics of 5,000 patients: non-centred 2
    divergences and bulk ESS 721, centred 0 and 5,615; the earlier default of 11 groups
    left the 200,000-patient benchmark's 4 clinics non-centred with 13 divergences;
    docs/validation_model.md#multi-centre-grid).
    """
    value = config.get("centred_min_groups")
    return 1 if value is None else int(value)


def levels_centred(events, min_events: int, min_levels: int = 1) -> bool:
    """The one centring rule of factors and groups.

    Centred when the block has at least ``min_levels`` levels (enough of them to pin its
    scale) and every level has at least ``min_events`` recoveries (each effect pinned
    more tightly than the scale's prior floor).
    """
    events = np.asarray(events)
    return bool(events.size >= min_levels and events.size and events.min() >= min_events)


def baseline_step_se(data: ModelData) -> np.ndarray:
    """Approximate standard errors of the crude steps ``alpha_k - alpha_{k-1}``.

    With ``e_k`` recoveries ending in interval ``k`` the crude log-rate has SE about
    ``1/sqrt(e_k)``, so a step has ``sqrt(1/e_k + 1/e_{k-1})`` (``inf`` next to an
    interval without recoveries). Length ``K - 1``.
    """
    e = data.events_per_interval().astype(float)
    with np.errstate(divide="ignore"):
        inv = np.where(e > 0, 1.0 / e, np.inf)
    return np.sqrt(inv[1:] + inv[:-1])


def _baseline_centred(data: ModelData, config: dict) -> bool:
    if config.get("centred_min_events") is not None:
        return bool(data.events_per_interval().min() >= centred_min_events(config))
    se = baseline_step_se(data)
    return bool(se.size == 0 or se.max() <= rw_floor(config, BASELINE_QUANTILE))


def choose_parameterization(data: ModelData, config: dict) -> dict:
    """Centred or non-centred for each factor, the group and ``"baseline"``.

    ``"auto"`` applies one principle everywhere: write a block centred when the data
    pin each of its effects more tightly than the smallest plausible value of the block's
    scale (the 1% quantile of its log-normal prior), non-centred otherwise.

    - Factors: every level has at least :func:`centred_min_events` recoveries (log-rate
      SE ``1/sqrt(e)`` below the 1% quantile of ``sigma_f``, 0.22: 21 events).
    - The group (clinics): the same rule (:func:`levels_centred`) against the group
      scale's own floor (:func:`group_min_events`: 114 recoveries in every group),
      whatever the number of groups (:func:`group_min_groups`).
    - Factors and the group alike sum to zero weighted by recoveries
      (:func:`level_weights`, one code path: :func:`level_effects`), so that the
      baseline stands for the information-weighted average level and a large level's
      effect does not trade off against it (``config["factor_weights"]`` and
      ``config["group_weights"]``: ``"events"``, or ``"equal"``). Measured on 3 clinics
      / 150 patients (seed 1): with equal weights the factor ``lesion_type`` (105 and 5
      recoveries, non-centred) left ``alpha`` on a ridge against its large level, 3
      divergences, bulk ESS 1,068; with recovery weights 0 and 2,931.
    - Baseline: every crude step of the random walk has SE
      (:func:`baseline_step_se`) below the 10% quantile of ``sigma_rw`` (:func:`rw_floor`,
      0.13; :data:`BASELINE_QUANTILE`, measured): about 115 recoveries in every month.
      (An explicit
      ``config["centred_min_events"]`` applies to the grid intervals' events instead.)

    With that much information the likelihood fixes each effect to within less than its
    prior scale can be: the centred form is then nearly Gaussian, while the non-centred
    one has a ``b = sigma * z`` ridge whose width changes with ``sigma`` (the measured
    divergences at 1,000-5,000 patients). With less information the prior shapes the
    posterior, and the centred form has a funnel towards small scales (the measured
    divergence of a centred random walk at 1,000 patients, ``sigma_rw`` = 0.05);
    non-centred removes it. Because the factor scales and ``sigma_rw`` have zero-avoiding
    (log-normal) priors, the funnel's neck is cut off and the scale's prior floor is a
    meaningful threshold (see docs/validation_model.md for the measurements, including
    the multi-centre grid).

    - Factors and the group whose levels are split, some with the threshold's recoveries
      and some without (a 898-patient clinic beside 1-patient ones; a factor level with
      105 recoveries beside one with 5), are written ``"mixed"``: the pinned levels
      centred, the weak ones non-centred (:func:`level_split`,
      :func:`mixed_level_effects`), with the same prior. Either whole-block form leaves
      a funnel or a ridge in such a block; measured, the two remaining divergent fits of
      the multi-centre grid under the whole-block rule (1 and 2 divergences) had 0 with
      ``"mixed"`` (docs/validation_model.md#multi-centre-grid). A block with every level
      pinned is centred and one with none non-centred, as before.

    ``"mixed"`` asked for explicitly means the same split; with no pinned level the
    block falls back to ``"non-centred"``, with no weaker one to ``"centred"``, and
    that fallback is the recorded choice. For the baseline, ``"mixed"`` means
    ``"auto"``. ``"centred"`` / ``"non-centred"`` force a whole-block form (for a split
    block, ``"non-centred"`` is what ``"auto"`` chose before the split).
    """
    out = {}
    for name, (choice, split) in _level_blocks(data, config).items():
        out[name] = choice if split is None else split if isinstance(split, str) \
            else "mixed"
    choice = _asked(config, "baseline")
    if choice in ("auto", "mixed"):      # "mixed" is for level effects only
        choice = "centred" if _baseline_centred(data, config) else "non-centred"
    out["baseline"] = choice
    return out


def _asked(config: dict, name: str) -> str:
    """The parameterisation asked for block ``name`` (``"auto"`` unless set)."""
    p = config["parameterization"]
    return p.get(name, "auto") if isinstance(p, dict) else p


def _level_blocks(data: ModelData, config: dict) -> dict:
    """``{name: (asked, split)}`` for each factor and the group: the choice asked for,
    and under ``"auto"`` / ``"mixed"`` its :func:`_block_split` (else ``None``)."""
    rules = {f: (centred_min_events(config), 1) for f in data.factors}
    if data.group:
        rules[data.group] = (group_min_events(config), group_min_groups(config))
    out = {}
    for name, rule in rules.items():
        asked = _asked(config, name)
        split = _block_split(data, name, asked, *rule) if asked in ("auto", "mixed") \
            else None
        out[name] = (asked, split)
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
    coords |= smooth_coords(data)
    return coords


def _rw_scale(config: dict):
    """Step SD ``sigma_rw`` of the baseline random walk, log-normal (zero-avoiding).

    Written on the log scale like :func:`_factor_scales`: ``log sigma_rw =
    log(rw_median) + rw_log_sd * rw_z`` with ``rw_z ~ N(0, 1)``.
    """
    rw_z = pm.Normal("rw_z", 0.0, 1.0)
    return pm.Deterministic(
        "sigma_rw", pt.exp(np.log(config["rw_median"]) + config["rw_log_sd"] * rw_z))


def _baseline(data: ModelData, config: dict, choice: str):
    t = data.time_unit
    k = len(data.widths)
    mu0 = float(np.log(1.0 / data.follow_up))
    sigma_rw = _rw_scale(config)
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


def level_split(events, min_events: int) -> dict | str:
    """Split of a ``"mixed"`` block into pinned and weak levels (indices).

    Pinned: at least ``min_events`` recoveries (the thresholds of ``"auto"``). The anchor
    is the pinned level with the most recoveries (the first on ties). Returns
    ``{"anchor": a, "centred": [...], "weak": [...]}``, or the fallback ``"non-centred"``
    (no pinned level) / ``"centred"`` (no weak level).
    """
    events = np.asarray(events)
    pinned = np.flatnonzero(events >= min_events)
    weak = np.flatnonzero(events < min_events)
    if pinned.size == 0:
        return "non-centred"
    if weak.size == 0:
        return "centred"
    anchor = int(pinned[np.argmax(events[pinned])])
    return {"anchor": anchor, "centred": [int(i) for i in pinned if i != anchor],
            "weak": [int(i) for i in weak]}


def _block_split(data: ModelData, name: str, choice: str, min_events: int,
                 min_levels: int = 1) -> dict | str:
    """The split of factor or group ``name`` under ``"auto"`` or ``"mixed"``.

    :func:`level_split` of its recoveries per level; under ``"auto"`` a block with
    fewer than ``min_levels`` levels (``centred_min_groups``) is ``"non-centred"``.
    """
    events = np.asarray(data.events_per_level(name))
    if choice == "auto" and events.size < min_levels:
        return "non-centred"
    return level_split(events, min_events)


def level_splits(data: ModelData, config: dict) -> dict:
    """:func:`level_split` of each factor or group written ``"mixed"``.

    Blocks under ``"auto"`` appear when they are split (pinned and weak levels); blocks
    asked to be ``"mixed"`` always appear, with the fallback (``"non-centred"`` /
    ``"centred"``) that :func:`choose_parameterization` then records as their choice.
    """
    return {name: split for name, (asked, split) in _level_blocks(data, config).items()
            if asked == "mixed" or isinstance(split, dict)}


def mixed_chols(c: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factors of ``I_c + 11'`` (pinned levels) and ``I_m + 11'/(1 + c)``
    (weak levels given the pinned ones) of :func:`mixed_level_effects`."""
    lc = np.linalg.cholesky(np.eye(c) + np.ones((c, c))) if c else np.zeros((0, 0))
    ln = np.linalg.cholesky(np.eye(m) + np.ones((m, m)) / (1 + c))
    return lc, ln


def mixed_level_effects(name: str, z_name: str, sigma, dims: str, weights, split: dict):
    """Level effects with pinned levels centred and weak levels non-centred (``"mixed"``).

    The same prior as :func:`level_effects`: ``b = P v`` with ``v`` iid ``N(0, sigma^2)``
    and ``P = I - 1 w'``. ``b`` does not change with ``v -> v + c 1``, so ``v`` is taken
    relative to the anchor ``a`` (``v' = v - v_a 1``, ``v'_a = 0``); the other levels are
    ``MvNormal(0, sigma^2 (I + 11'))``. The pinned levels but the anchor (``C``, ``c`` of
    them) are written centred, ``<name>_c ~ MvNormal(0, sigma^2 (I_c + 11'))``; the weak
    ones (``N``, ``m``) from their exact conditional, non-centred:
    ``v'_N = sum(v'_C) / (1 + c) + sigma L_N z`` with ``z = z_name ~ N(0, I_m)`` and
    ``L_N L_N' = I_m + 11'/(1 + c)``. No unidentified direction is added.
    """
    cen, weak = split["centred"], split["weak"]
    n = 1 + len(cen) + len(weak)
    c, m = len(cen), len(weak)
    lc, ln = mixed_chols(c, m)
    v = pt.zeros(n)
    mean = 0.0
    if c:
        vc = pm.MvNormal(f"{name}_c", mu=np.zeros(c), chol=sigma * lc, shape=(c,))
        v = pt.set_subtensor(v[np.asarray(cen)], vc)
        mean = pt.sum(vc) / (1 + c)
    z = pm.Normal(z_name, 0.0, 1.0, shape=(m,))
    v = pt.set_subtensor(v[np.asarray(weak)], mean + sigma * pt.dot(ln, z))
    shift = pt.mean(v) if weights is None else pt.dot(weights, v)
    return pm.Deterministic(name, v - shift, dims=dims)


def level_effects(name: str, z_name: str, sigma, choice: str, dims: str, weights=None,
                  split: dict | None = None):
    """Sum-to-zero level effects of scale ``sigma``: the one code path of factors and groups.

    Centred: ``name ~ ZeroSumNormal(sigma)``; non-centred: ``z_name ~ ZeroSumNormal(1)`` and
    ``name = sigma * z_name`` (deterministic). The sum-to-zero constraint keeps the
    effects from trading off against the baseline hazard (for clinic intercepts, the
    common shift of all clinics against ``alpha``: measured, see
    docs/validation_model.md#multi-centre-grid).

    ``weights`` (a vector summing to 1, one per level; ``None``: equal) moves the
    constraint to ``sum(weights * effects) = 0``: the effects are
    ``v - (weights . v)`` of the equal-weight ``v`` above (a ``ZeroSumNormal`` in its
    centred form, then named ``<name>_raw``), i.e. iid normal effects projected along the
    all-ones direction, the same prior up to which average level the baseline stands
    for. With weights proportional to the recoveries per level (:func:`level_weights`)
    the baseline is the information-weighted average level, which the data pin by
    themselves, so that a large level's ``alpha + sigma * z`` is no curved ridge in the
    non-centred form (measured on clinics of 1 and 599 patients, and on a factor with
    105 and 5 recoveries: docs/validation_model.md#multi-centre-grid). Factors and the
    group both pass recovery weights by default (``factor_weights``, ``group_weights``).
    """
    if choice == "mixed":
        return mixed_level_effects(name, z_name, sigma, dims, weights, split)
    if weights is None:
        if choice == "centred":
            return pm.ZeroSumNormal(name, sigma=sigma, dims=dims)
        z = pm.ZeroSumNormal(z_name, sigma=1.0, dims=dims)
        return pm.Deterministic(name, sigma * z, dims=dims)
    if choice == "centred":
        v = pm.ZeroSumNormal(f"{name}_raw", sigma=sigma, dims=dims)
        return pm.Deterministic(name, v - pt.dot(weights, v), dims=dims)
    z = pm.ZeroSumNormal(z_name, sigma=1.0, dims=dims)
    return pm.Deterministic(name, sigma * (z - pt.dot(weights, z)), dims=dims)


def level_weights(events) -> np.ndarray:
    """Weights of the constraint of :func:`level_effects`: recoveries per level, summing
    to 1 (equal weights when there is no recovery at all)."""
    e = np.asarray(events, float)
    return e / e.sum() if e.sum() > 0 else np.full(e.size, 1.0 / max(e.size, 1))


def _factor_weights(d: dict, config: dict, f: str):
    """A factor's constraint weights, as the group's (:func:`_weights`): recoveries per
    level (``config["factor_weights"]`` = ``"events"``, the default) or ``None``
    (``"equal"``)."""
    return d[f"factor_weights_{f}"] if config.get("factor_weights", "events") == "events" \
        else None


def _factor_effects(data: ModelData, config: dict, choices: dict, pattern_codes: dict,
                    d: dict, splits: dict | None = None):
    eta = 0.0
    if not data.factors:
        return eta
    scales = _factor_scales(data, config)
    for i, f in enumerate(data.factors):
        sigma = pm.Deterministic(f"sigma_{f}", scales[i])
        b = level_effects(f"b_{f}", f"z_{f}", sigma, choices[f], f,
                          _factor_weights(d, config, f), (splits or {}).get(f))
        pm.Deterministic(f"log_hr_{f}", b - b[0], dims=f)
        eta = eta + b[pattern_codes[f]]
    return eta


def _group_scale(data: ModelData, config: dict):
    """Group scale ``sigma_u``, log-normal (zero-avoiding) like the factor scales.

    Written on the log scale: ``log sigma_u = log(group_median) + group_log_sd * z`` with
    ``z = sigma_<group>_z ~ N(0, 1)``; ``sigma_<group>`` is deterministic.
    """
    g = data.group
    z = pm.Normal(f"sigma_{g}_z", 0.0, 1.0)
    return pm.Deterministic(
        f"sigma_{g}", pt.exp(np.log(config["group_median"]) + config["group_log_sd"] * z))


def _weights(d: dict, config: dict):
    """The group's constraint weights: recoveries (``config["group_weights"]`` =
    ``"events"``, the default) or ``None`` for equal weights (``"equal"``)."""
    return d["group_weights"] if config.get("group_weights", "events") == "events" else None


def _group_effects(data: ModelData, config: dict, choice: str, codes, weights=None,
                   split: dict | None = None):
    g = data.group
    sigma = _group_scale(data, config)
    u = level_effects(f"u_{g}", f"u_{g}_z", sigma, choice, g, weights, split)
    return u[codes]


#: prefixes of the ``pm.Data`` arrays with one row per likelihood term (dynamic length)
TERM_ROWS = ("pattern_", "profile_", "event_")


def term_rows(data: ModelData) -> str:
    """The rows the linear predictor is computed on: ``"pattern"`` for a time-varying
    model (its hazard changes within a pattern's interval), else ``"profile"``
    (:mod:`.profile_terms`)."""
    return "pattern" if getattr(data, "tv", None) else "profile"


def build_model(data: ModelData, config: dict) -> pm.Model:
    """The PyMC model (no sampling). The likelihood enters as the potential ``loglik``.

    Every array that changes with the cohort (the patterns, the grid widths, the
    covariates' SDs) is a ``pm.Data`` of dynamic length (:func:`data_arrays`), so one
    compiled model serves every cohort of the same structure
    (:mod:`~footdrop_bayes.model.compile_cache`).
    """
    choices = choose_parameterization(data, config)
    splits = level_splits(data, config)
    with pm.Model(coords=model_coords(data)) as model:
        # structure-sized arrays get static shapes (JAX needs them for the gradient of
        # the cumulative baseline); arrays of likelihood rows keep a dynamic length
        d = {name: pm.Data(name, value, shape=None if name.startswith(TERM_ROWS)
                           else value.shape)
             for name, value in data_arrays(data).items()}
        rows = term_rows(data)
        codes = {k: d[f"{rows}_codes_{k}"] for k in data.patterns["codes"]}
        alpha = _baseline(data, config, choices["baseline"])
        eta = _factor_effects(data, config, choices, codes, d, splits)
        if data.covariates:
            beta_std = linear_coefficients(data, config)  # issue 11: N(0, beta_sigma)
            pm.Deterministic("beta", beta_std / d["covariate_sd"], dims="covariate")
            eta = eta + pt.dot(d[f"{rows}_z"], beta_std)
        if data.smooth:                  # issue 11: wiggly parts of smooth terms
            eta = eta + smooth_effects(data, config, d, rows)
        if data.group:
            eta = eta + _group_effects(data, config, choices[data.group], codes[data.group],
                                       _weights(d, config),
                                       splits.get(data.group))
        weight = d[f"{rows}_weight"]
        eta = eta + pt.zeros_like(weight)
        if rows == "pattern":  # time-varying terms (issue 10)
            from .tv_build import tv_interval_loglik

            ll = pt.sum(weight * tv_interval_loglik(data, config, d, alpha, eta))
        else:
            ll = profile_loglik(alpha, eta, d["grid_widths"], d["profile_exposure"],
                                d["event_profile"], d["event_l_idx"], d["event_r_idx"],
                                d["event_weight"])
        pm.Potential("loglik", ll)
    model.parameterization = choices
    model.level_split = splits
    return model


def data_arrays(data: ModelData) -> dict:
    """The ``pm.Data`` arrays of :func:`build_model`, by name (nutpie ``with_data`` keys).

    Arrays with one row per likelihood term (``pattern_*`` for a time-varying model,
    ``profile_*`` and ``event_*`` otherwise: :mod:`.profile_terms`) may change length
    between cohorts without recompiling.
    """
    pat = data.patterns
    rows = term_rows(data)
    tv = rows == "pattern"
    table = pat if tv else profile_terms(data)
    n = len(table["weight"])
    out = {f"{rows}_codes_{k}": np.asarray(v, np.int64) for k, v in table["codes"].items()}
    if data.covariates:
        out[f"{rows}_z"] = np.asarray(table["z"], float).reshape(n, -1)
        out["covariate_sd"] = data.scaling["sd"].to_numpy(float)
    if tv:
        out |= {
            "pattern_l_idx": np.asarray(pat["l_idx"], np.int64),
            "pattern_r_idx": np.asarray(pat["r_idx"], np.int64),
            "pattern_event": np.asarray(pat["event"], float),
            "pattern_weight": np.asarray(pat["weight"], float),
        }
    else:
        out |= profile_arrays(table)
    out["grid_widths"] = np.asarray(data.widths, float)
    if data.group:
        out["group_weights"] = level_weights(data.events_per_level(data.group))
    for f in data.factors:
        out[f"factor_weights_{f}"] = level_weights(data.events_per_level(f))
    if tv:  # time-varying paths (issue 10)
        from .tv_build import tv_data_arrays

        out |= tv_data_arrays(data)
    out |= smooth_arrays(data, table["z"], rows)
    return out
