r"""Is the curvature supported? Leave-one-patient-out ELPD of smooth against linear.

For each smooth term the model is refitted with that term linear (the other smooth terms
kept smooth; same cohort, priors and sampler settings), and with more than one smooth
term also with every term linear. The paired per-patient PSIS-LOO difference
(:func:`~footdrop_bayes.summaries.elpd_difference`)

.. math::

    \Delta\widehat{\mathrm{elpd}} = \sum_i \bigl(\widehat{\mathrm{elpd}}_i^{\,\mathrm{smooth}}
        - \widehat{\mathrm{elpd}}_i^{\,\mathrm{linear}}\bigr), \qquad
    \mathrm{SE} = \sqrt{n \, \mathrm{Var}(d_i)}

is positive when the curve predicts better than the line; within about two SEs the data
do not distinguish them (the wiggly part then shrinks towards zero anyway). Each row is a
full MCMC refit: call it explicitly.
"""

from __future__ import annotations

import pandas as pd

from .fit_checks import comparison_problems, warn_or_raise

SMOOTH_COMPARE_COLUMNS = ["term", "comparison", "elpd_smooth", "elpd_linear",
                          "elpd_diff", "se_diff", "max_pareto_k"]


def smooth_comparison(model, *, random_seed: int | None = None,
                      sampler_config: dict | None = None,
                      strict: bool = False) -> pd.DataFrame:
    """ELPD of the smooth model against the model with each smooth term made linear.

    Parameters
    ----------
    model : RecoveryModel
        A fitted model with smooth terms.
    random_seed : int, optional
        Seed of the refits (refit ``k`` gets ``random_seed + k``).
    sampler_config : dict, optional
        Sampler settings of the refits, merged over the model's.
    strict : bool
        Raise instead of warning when a fit failed its diagnostics or has patients with
        Pareto k > 0.7.

    Returns
    -------
    DataFrame
        ``term, comparison, elpd_smooth, elpd_linear, elpd_diff, se_diff, max_pareto_k``:
        one row per smooth term (``comparison`` "<term> smooth vs linear"), plus a row
        ``term = "all"`` when there are several.
    """
    from .compare import _elpd_difference

    smooth = list(getattr(model, "smooth", None) or [])
    if not smooth:
        raise ValueError("the model has no smooth terms (RecoveryModel(smooth=[...]))")
    sconf = dict(model.sampler_config) | dict(sampler_config or {})
    plans = [(t, [s for s in smooth if s != t]) for t in smooth]
    if len(smooth) > 1:
        plans.append(("all", []))
    fits, high, rows = {"smooth model": model}, {}, []
    for k, (term, keep) in enumerate(plans):
        linear = type(model)(model.cohort, factors=model.factors,
                             covariates=model.covariates, group=model.group,
                             model_config=model.model_config, sampler_config=sconf,
                             smooth=keep or None)
        linear.fit(random_seed=None if random_seed is None else random_seed + k)
        res = _elpd_difference(model, linear)
        name = "all terms linear" if term == "all" else f"{term} linear"
        fits[name] = linear
        high.setdefault("smooth model", res["_high"][0])
        high[name] = res["_high"][1]
        rows.append({"term": term,
                     "comparison": ("all smooth vs all linear" if term == "all"
                                    else f"{term}: smooth vs linear"),
                     "elpd_smooth": res["elpd_a"], "elpd_linear": res["elpd_b"],
                     "elpd_diff": res["elpd_diff"], "se_diff": res["se_diff"],
                     "max_pareto_k": res["max_pareto_k"]})
    warn_or_raise(comparison_problems(fits, high), "the smooth vs linear comparison",
                  strict=strict)
    return pd.DataFrame(rows, columns=SMOOTH_COMPARE_COLUMNS)
