"""Default model and sampler configurations, and how user settings are merged.

Every prior is on the log-hazard scale. The reasoning behind each default:

``baseline_sd`` (2.0)
    Prior SD of the mean baseline log-hazard rate, centred at ``log(1 / follow_up)``
    (the rate that would leave ``exp(-1)`` = 37% unrecovered at the end of follow-up).
    Two SDs either side spans hazards from ~1/55 to ~55 times that rate: anything a
    recovery study could plausibly see, and the centre depends on the design only,
    never on the outcomes.
``rw_sigma`` (0.5)
    Scale of the half-normal prior on the SD of the random-walk steps of the baseline
    log-hazard between consecutive grid intervals: a step of exp(0.5) = 1.6-fold per
    interval is typical, a 3-fold change (2 SD) is possible.
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
``group_sigma`` (0.5)
    Scale of the half-normal prior on the SD of the clinic/centre random intercepts.
``parameterization`` ("auto"), ``centred_min_events`` (None: derived, 21)
    ``"auto"`` chooses per factor (and for the baseline and the group intercepts):
    centred when every level (grid interval) holds at least ``centred_min_events``
    recoveries, non-centred otherwise. The threshold is derived from the prior: with
    ``e`` recoveries a level's log-rate SE is about ``1/sqrt(e)``; once that is below
    the 1% prior quantile of ``sigma_f`` (0.22) the likelihood, not the prior, fixes
    the level effects, and the centred form is the well-conditioned one (see
    :func:`~footdrop_bayes.model.build.choose_parameterization` and the measurements in
    docs/validation_model.md). Give a number to override. ``"centred"`` /
    ``"non-centred"`` force one choice, or give a dict ``{name: choice}`` per factor /
    ``"baseline"`` / group name.
``collapse`` (True)
    Collapse identical (covariate pattern, interval) rows into weighted terms.

Vague priors such as N(0, 1000) are never defaults: on this scale they put most mass
on hazard ratios of astronomical size and produce divergences.
"""

from __future__ import annotations

import copy

DEFAULT_MODEL_CONFIG: dict = {
    "baseline_sd": 2.0,
    "rw_sigma": 0.5,
    "tau_median": 0.7,
    "tau_log_sd": 0.3,
    "lambda_log_sd": 0.4,
    "beta_sigma": 1.0,
    "group_sigma": 0.5,
    "parameterization": "auto",
    "centred_min_events": None,
    "collapse": True,
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
    "nutpie_backend": "numba",
}

SAMPLERS = ("nutpie", "pymc", "numpyro", "blackjax")
PARAMETERIZATIONS = ("auto", "centred", "non-centred")


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
    return cfg
