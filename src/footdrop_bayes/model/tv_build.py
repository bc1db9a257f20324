r"""The time-varying terms of the PyMC model (hooked into :func:`.build.build_model`).

For each time-varying column ``v`` with levels reference-first:

.. math::

    \gamma_v[0] = 0, \qquad \gamma_v[l] \sim N(0, s_\beta) \quad (l \ge 1),

exposed as ``log_hr_<v>`` (dims ``<v>``: log hazard ratio of the *current* level against
the reference), with the free variable ``beta_tv_<v>`` (dims ``<v>_contrast``). Reference
coding with a fixed-effect prior (``beta_sigma``, 1 on the log-hazard scale), not partial
pooling: a treatment has few levels and its contrasts are the estimand.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from .tv_likelihood import tv_loglik


def tv_coords(data) -> dict:
    """Coordinates of the time-varying terms."""
    out = {}
    for name in data.tv["names"]:
        levels = [str(x) for x in data.tv["levels"][name]]
        out[name] = levels
        out[f"{name}_contrast"] = levels[1:]
    return out


def tv_data_arrays(data) -> dict:
    """``pm.Data`` arrays of the paths, one (patterns, K) int array per column."""
    return {f"pattern_tv_{n}": np.asarray(data.patterns["tv"][n], np.int64)
            for n in data.tv["names"]}


def tv_interval_loglik(data, config: dict, d: dict, alpha, eta):
    """Add the time-varying effects to the current model; return the per-pattern log-lik."""
    model = pm.modelcontext(None)
    for name, values in tv_coords(data).items():
        if name not in model.coords:
            model.add_coord(name, values)
    effects, paths = [], []
    for name in data.tv["names"]:
        b = pm.Normal(f"beta_tv_{name}", 0.0, config["beta_sigma"], dims=f"{name}_contrast")
        gam = pm.Deterministic(f"log_hr_{name}", pt.concatenate([pt.zeros((1,)), b]),
                               dims=name)
        effects.append(gam)
        paths.append(d[f"pattern_tv_{name}"])
    return tv_loglik(alpha, eta, effects, paths, d["grid_widths"], d["pattern_l_idx"],
                     d["pattern_r_idx"], pt.gt(d["pattern_event"], 0.5))


def tv_structure(data) -> tuple:
    """What the compiled model's structure depends on (for the compile cache key)."""
    tv = getattr(data, "tv", None)
    if not tv:
        return ()
    return tuple((n, tuple(map(str, tv["levels"][n]))) for n in tv["names"])
