"""Default model and sampler configurations, and how user settings are merged.

Every prior is on the log-hazard scale. The reasoning behind each default:

``baseline_sd`` (2.0)
    Prior SD of the mean baseline log-hazard rate, centred at ``log(1 / follow_up)``
    (the rate that would leave ``exp(-1)`` = 37% unrecovered at the end of follow-up).
    Two SDs either side spans hazards from ~1/55 to ~55 times that rate: anything a
    recovery study could plausibly see, and the centre depends on the design only,
    never on the outcomes.
``rw_median`` (0.25), ``rw_log_sd`` (0.5)
    The SD ``sigma_rw`` of the random-walk steps of the baseline log-hazard between
    consecutive grid intervals (on a monthly grid: how much the recovery hazard changes
    from one month to the next) has a log-normal prior, written on the log scale like
    the factor scales: ``log sigma_rw ~ N(log 0.25, 0.5)``. Median 0.25: a typical
    monthly change of the hazard by a factor ``exp(0.25)`` = 1.3; 98% between 0.078 and
    0.80, so at the upper end a 2-SD step is a 5-fold change within one month - more than
    a smooth biological process such as nerve recovery is expected to show, and any
    larger real jump is still reachable from the data. Why not the half-normal (the
    earlier ``HalfNormal(0.5)``): it reaches 0, and with the baseline written centred
    that gives a funnel at ``sigma_rw -> 0``; with 1,000 patients (31-173 recoveries per
    month) one divergent transition sat at ``sigma_rw`` = 0.047. The log-normal's floor
    excludes nothing a recovery study could detect: a month's crude log-rate has SE
    ``1/sqrt(e)`` >= 0.1 with fewer than 100 recoveries, so steps of a few per cent are
    indistinguishable from a flat baseline, which is still fitted (with steps of that
    size). The prior is per grid step: on a weekly grid (``time_unit="week"``) it is a
    week-to-week change.
``tau_median`` (0.7), ``tau_log_sd`` (0.3), ``lambda_log_sd`` (0.4)
    The scale of each factor's level effects is ``sigma_f = tau * lambda_f``: ``tau`` is
    the population-level scale every factor shares (Gelman 2005: the model learns how
    much factors matter in general) and ``lambda_f`` the factor's own multiplier, with
    ``log tau ~ N(log 0.7, 0.3)`` and ``log lambda_f ~ N(0, 0.4)``. So ``sigma_f`` is
    log-normal with median 0.7 and 98% between 0.22 and 2.2; the log hazard ratio
    between two levels has prior SD about ``sqrt(2) * 0.7 = 1``: a hazard ratio of 20
    (log 3) is at 3 SD, extreme; 3.3% prior mass lies beyond it.
    Why log-normal rather than the usual half-normal: a half-normal (worse, a product
    of two) puts its mode at ``sigma_f = 0``. For a two-level factor the one contrast is
    all the data say about ``sigma_f``, so that spike shrinks a moderately estimated
    binary effect by about a full standard error (lifelines' Rossi data: ``fin`` came
    out at -0.16 against Cox -0.38, SE 0.19). The zero-avoiding scale (Chung et al.
    2013 argue the same for group-level SDs) keeps partial pooling *within* a factor -
    levels still share ``sigma_f``, learned from their spread - and across factors
    through ``tau``, but no longer pulls every effect towards 0: on Rossi with the five
    0/1 indicators as factors every posterior mean is within 0.25 SE of Cox. It also
    removes the funnel at ``sigma_f -> 0`` that made a factor without effect diverge
    when written centred (docs/validation_model.md). The price: a factor with no
    effect keeps a scale of at least ~0.2, so small cohorts shrink its levels less.
``beta_sigma`` (1.0)
    Prior SD of the log hazard ratio per standard deviation of a numeric covariate:
    a 7-fold hazard ratio per SD is at 2 prior SDs.
``group_median`` (0.3), ``group_log_sd`` (0.5)
    The SD ``sigma_u`` of the clinic / centre intercepts ``u_g`` (sum-to-zero like the
    factors' level effects, weighted by recoveries: deviations from the study's
    recovery-weighted average clinic, see ``group_weights``) has the same kind of
    zero-avoiding prior as the factor scales, written on the log scale
    (``sigma_<group>_z ~ N(0, 1)``, ``sigma_<group>`` deterministic):
    ``log sigma_u ~ N(log 0.3, 0.5)``, median 0.3, 98% between 0.094 and 0.96. On the
    hazard-ratio scale (median hazard ratio ``exp(0.954 sigma_u)``, the hazard analogue of
    Larsen & Merlo's 2005 median odds ratio)
    that is a typical ratio of 1.33 between two random clinics, 98% between 1.09 and
    2.5: clinics of one health system rarely differ by more, and less than factors do, so
    the median is below the factors' 0.7. Why not the half-normal (the earlier
    ``HalfNormal(0.5)``, key ``group_sigma``): with 2-4 clinics the data hardly inform
    ``sigma_u`` (a sample of 2-4 effects), so its posterior follows the prior down to 0,
    and the centred intercepts then have a funnel there - the 13-53 divergences of issue
    13 sat at ``sigma_clinic`` 0.07 against 0.25 overall. The floor excludes nothing a
    multi-centre study can detect: a clinic SD below 0.1 is below the standard error of a
    clinic with 100 recoveries. The price, stated honestly: clinics with no true
    variation are fitted with ``sigma_u`` of about 0.1-0.2 rather than 0, i.e. a little
    spurious clinic spread (shrinkage of each ``u_g`` still pulls them to ~0 when the
    clinics are large).
``parameterization`` ("auto"), ``centred_min_events`` (None: derived)
    ``"auto"`` chooses per block (each factor, the group intercepts, the baseline): centred
    when the data pin every effect of the block more tightly than the 1% prior quantile
    of the block's scale, non-centred otherwise. For a factor: every level holds at least
    21 recoveries (a level's log-rate SE ``1/sqrt(e)`` below the 1% quantile of
    ``sigma_f``, 0.22). For the group, by the same code path: every group holds at least
    114 recoveries (below the 1% quantile of ``sigma_u``, 0.094), whatever the number of
    groups (``centred_min_groups``, None: 1; a clinic pinned by its data has no funnel in
    the centred form however poorly 2-4 clinics identify ``sigma_u``). For the
    baseline: every crude month-to-month step has SE ``sqrt(1/e_k + 1/e_{k-1})`` below
    the 10% quantile of ``sigma_rw``, 0.13 (about 115
    recoveries in every interval; the 10% rather than 1% was measured: see
    docs/validation_model.md). Once the likelihood fixes the effects, the centred
    form is the well-conditioned one; before that the prior shapes the posterior and the
    non-centred form avoids the funnel (see
    :func:`~footdrop_bayes.model.build.choose_parameterization` and the measurements in
    docs/validation_model.md). A number for ``centred_min_events`` overrides the rule
    with an events-per-level (and per grid interval) count. ``"centred"`` /
    ``"non-centred"`` force one choice, or give a dict ``{name: choice}`` per factor /
    ``"baseline"`` / group name. ``"mixed"`` (factors and the group; the baseline then
    stays ``"auto"``) writes the levels with at least the ``"auto"`` threshold of
    recoveries centred and the others non-centred, with the same prior
    (:func:`~footdrop_bayes.model.build.mixed_level_effects`; the split is
    ``model.level_split``); ``"auto"`` chooses it for a block that has both kinds of
    level (every level pinned: centred; none: non-centred). ``centred_min_groups`` (a
    number) overrides the number of groups needed before the group can be centred.
``group_weights`` ("events")
    The group intercepts sum to zero weighted by each group's recoveries (``"events"``)
    or with equal weights (``"equal"``). Only which average clinic the baseline stands
    for changes (the clinics' contrasts, ``sigma_u`` and every prediction for a known
    clinic are the same model); with recoveries as weights the baseline is pinned by the
    data on its own, which removed the divergences of a 1-patient clinic beside a
    599-patient one (docs/validation_model.md#multi-centre-grid).
``factor_weights`` ("events")
    The same for every factor's level effects: they sum to zero weighted by the
    recoveries at each level, so the baseline is the recovery-weighted average level
    (hazard ratios between levels, the importance and every prediction are unchanged).
    With equal weights a factor with one large and one small level (105 and 5
    recoveries) left the baseline trading off against the large level's effect: 3
    divergences at 3 clinics / 150 patients, none with recovery weights
    (docs/validation_model.md#multi-centre-grid).
``collapse`` (True)
    Collapse identical (covariate pattern, interval) rows into weighted terms.
``smooth_basis`` ("pspline"), ``smooth_k`` (10), ``smooth_median`` (0.4), \
``smooth_log_sd`` (0.5), ``smooth_scale_prior`` ("lognormal"), ``smooth_sigma`` (0.5), \
``smooth_split`` (True), ``hsgp_m`` (12), ``hsgp_c`` (1.5), ``hsgp_ell_median`` (1.0), \
``hsgp_ell_log_sd`` (0.4)
    Smooth terms (``RecoveryModel(smooth=[...])``, :mod:`~footdrop_bayes.model.smooth`):
    the basis of the wiggly part (a P-spline of ``smooth_k`` cubic B-splines with a
    second-order random-walk prior, or an HSGP of ``hsgp_m`` eigenfunctions on ``hsgp_c``
    times the data half-range) and the scale ``sigma`` of its size: the prior
    root-mean-square, over the cohort, of the departure from the line in log hazard ratio.
    Log-normal and zero-avoiding like the factor scales, with the same log-SD as every
    other scale of the model, ``log sigma ~ N(log 0.4, 0.5)``: median 0.4 (hazard ratios
    within a factor 1.5 of the line), 98% between 0.125 and 1.28 (the validation's inverted
    U, -1 at 15 years from the optimum over ages 16-85, has a posterior sigma of 0.4-1.2).
    Why not the earlier ``HalfNormal(smooth_sigma)``: it puts its mode at 0, where the
    coefficients have a funnel in either parameterisation once the data inform them (the
    1-2 divergences of the round-2 validation); the floor cuts it off, and the
    coefficients the data pin are written centred (``parameterization``, per coefficient:
    :func:`~footdrop_bayes.model.smooth.choose_centred`). The price: a truly linear effect
    keeps a wiggle of RMS about 0.1 in log hazard ratio rather than exactly 0 (its band
    still holds the line: docs/validation_model.md).
    ``smooth_scale_prior="halfnormal"`` restores ``HalfNormal(smooth_sigma)``.
    ``smooth_split=False`` fits each term as one penalised smooth (no separate linear
    ``beta``: its slope is penalised with the wiggles, by the same ``sigma``). The HSGP
    lengthscale, in covariate SDs, is log-normal with median ``hsgp_ell_median`` and
    log-SD ``hsgp_ell_log_sd`` (1% quantile 0.39 SD: no wiggles finer than the basis can
    represent).

Vague priors such as N(0, 1000) are never defaults: on this scale they put most mass
on hazard ratios of astronomical size and produce divergences.
"""

from __future__ import annotations

import copy

DEFAULT_MODEL_CONFIG: dict = {
    "baseline_sd": 2.0,
    "rw_median": 0.25,
    "rw_log_sd": 0.5,
    "tau_median": 0.7,
    "tau_log_sd": 0.3,
    "lambda_log_sd": 0.4,
    "beta_sigma": 1.0,
    "group_median": 0.3,
    "group_log_sd": 0.5,
    "parameterization": "auto",
    "centred_min_events": None,
    "centred_min_groups": None,
    "group_weights": "events",
    "factor_weights": "events",
    "collapse": True,
    # smooth terms (RecoveryModel(smooth=[...]); model/smooth.py, docs/model.md)
    "smooth_basis": "pspline",
    "smooth_k": 10,
    "smooth_sigma": 0.5,
    "smooth_scale_prior": "lognormal",
    "smooth_median": 0.4,
    "smooth_log_sd": 0.5,
    "smooth_split": True,
    "hsgp_m": 12,
    "hsgp_c": 1.5,
    "hsgp_ell_median": 1.0,
    "hsgp_ell_log_sd": 0.4,
}

DEFAULT_SAMPLER_CONFIG: dict = {
    "sampler": "nutpie",           # "nutpie" | "pymc" | "numpyro" | "blackjax"
    "chains": 4,
    "draws": 1000,
    "tune": 1000,
    "target_accept": 0.95,
    "cores": None,                 # default: min(chains, os.cpu_count())
    "progressbar": None,           # None: on in interactive sessions, off otherwise
    "on_convergence_failure": "warn",  # "warn" | "raise" | "ignore"
    # a fit with divergent transitions is sampled once more, same seed, at this
    # target_accept (None: never): measured, the sporadic 1-2 divergences of small
    # multi-centre cohorts at 0.95 (5 of 32 fits) were gone at 0.99 (0 of 32), for
    # 1.5-2.5x the sampling time of those fits only (docs/validation_model.md); a
    # value not above target_accept never retries
    "retry_target_accept": 0.99,
    # "auto": JAX (compiles in seconds) for short runs of small models (at most
    # compile_cache.JAX_MAX_ITERATIONS iterations and JAX_MAX_TERMS terms) when jax is
    # installed, numba (20-25 s to compile, ~20x faster gradients) otherwise; "numba" /
    # "jax" force one (docs/performance.md)
    "nutpie_backend": "auto",
    # nutpie's low-rank modified mass matrix: measured 3x the ESS per second of the
    # diagonal one at 5,000 patients, no divergences (docs/performance.md)
    "nutpie_low_rank": True,
}

SAMPLERS = ("nutpie", "pymc", "numpyro", "blackjax")
PARAMETERIZATIONS = ("auto", "centred", "non-centred", "mixed")


def merge_config(defaults: dict, user: dict | None, *, what: str) -> dict:
    """Return ``defaults | user`` as a new dict, checking the keys; neither is mutated.

    Parameters
    ----------
    defaults : dict
        The default configuration.
    user : dict or None
        User settings overriding the defaults.
    what : str
        Name of the configuration in error messages.

    Raises
    ------
    ValueError
        On a key the defaults do not know.
    """
    user = dict(user or {})
    unknown = sorted(set(user) - set(defaults))
    if unknown:
        raise ValueError(f"unknown {what} key(s) {unknown}; known keys: {sorted(defaults)}")
    return copy.deepcopy(defaults) | copy.deepcopy(user)


def model_config(user: dict | None = None) -> dict:
    """The default model configuration merged with ``user`` settings."""
    cfg = merge_config(DEFAULT_MODEL_CONFIG, user, what="model_config")
    p = cfg["parameterization"]
    choices = p.values() if isinstance(p, dict) else [p]
    bad = [c for c in choices if c not in PARAMETERIZATIONS]
    if bad:
        raise ValueError(f"model_config['parameterization'] must be one of "
                         f"{PARAMETERIZATIONS} (or a dict of them), got {bad}")
    for key in ("group_weights", "factor_weights"):
        if cfg[key] not in ("events", "equal"):
            raise ValueError(f"model_config[{key!r}] must be 'events' or 'equal', "
                             f"got {cfg[key]!r}")
    if cfg["smooth_scale_prior"] not in ("lognormal", "halfnormal"):
        raise ValueError("model_config['smooth_scale_prior'] must be 'lognormal' or "
                         f"'halfnormal', got {cfg['smooth_scale_prior']!r}")
    return cfg


def sampler_config(user: dict | None = None) -> dict:
    """The default sampler configuration merged with ``user`` settings."""
    cfg = merge_config(DEFAULT_SAMPLER_CONFIG, user, what="sampler_config")
    if cfg["sampler"] not in SAMPLERS:
        raise ValueError(f"sampler_config['sampler'] must be one of {SAMPLERS}, "
                         f"got {cfg['sampler']!r}")
    if cfg["on_convergence_failure"] not in ("warn", "raise", "ignore"):
        raise ValueError("sampler_config['on_convergence_failure'] must be 'warn', "
                         "'raise' or 'ignore'")
    retry = cfg["retry_target_accept"]
    if retry is not None and not (isinstance(retry, (int, float)) and 0 < retry < 1):
        raise ValueError("sampler_config['retry_target_accept'] must be a number between "
                         f"0 and 1, or None, got {retry!r}")
    return cfg
