"""Simulated cohorts whose treatment changes at visits (``simulate_cohort(switching=)``).

Patients start on ``from`` (or, a share ``baseline_share`` of them, on ``to``); at each
attended visit ``m = 1 .. follow_up - 1`` an unrecovered patient still on ``from`` switches
to ``to`` with a probability per visit. The new treatment acts from that visit on, on
``(m, m + 1]`` (the library's timing rule, lag 0), multiplying the recovery hazard by
``exp(log_hr)``. Recovery times come from the continuous-time piecewise-constant hazard,
so the grouped-time model is correct for the visit data.

Two switching mechanisms:

``"random"``
    Switching independent of prognosis: the time-varying hazard ratio is identified and
    the model recovers ``log_hr``.
``"non-recovery"``
    Switching triggered by not improving (*confounding by indication*): each patient has
    an unrecorded prognosis ``Z ~ N(0, frailty_sd)`` on the log hazard, and a patient
    whose recovery is slow (``Z`` low) is more likely to be switched at each visit
    without recovery: ``logit p = logit(rate) - strength * Z``. The switched patients
    are those with poor prognosis, so the time-varying hazard ratio is biased towards
    "surgery harms" (the docs show by how much).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEFAULT_SWITCHING = {"mechanism": "random", "from": "conservative", "to": "surgery",
                     "rate": 0.15, "log_hr": 0.7, "baseline_share": 0.1,
                     "frailty_sd": 1.0, "strength": 1.5}


def switching_spec(switching) -> dict:
    """The switching settings: ``"random"``, ``"non-recovery"`` or a dict over defaults."""
    if isinstance(switching, str):
        switching = {"mechanism": switching}
    if not isinstance(switching, dict):
        raise ValueError(f"switching must be 'random', 'non-recovery' or a dict, got "
                         f"{switching!r}")
    unknown = set(switching) - set(DEFAULT_SWITCHING)
    if unknown:
        raise ValueError(f"unknown switching keys {sorted(unknown)}; known: "
                         f"{sorted(DEFAULT_SWITCHING)}")
    spec = DEFAULT_SWITCHING | switching
    if spec["mechanism"] not in ("random", "non-recovery"):
        raise ValueError(f"switching mechanism must be 'random' or 'non-recovery', got "
                         f"{spec['mechanism']!r}")
    if not 0 <= spec["rate"] < 1 or not 0 <= spec["baseline_share"] < 1:
        raise ValueError("switching rate and baseline_share must lie in [0, 1)")
    return spec


def simulate_switching(patients: pd.DataFrame, eta: np.ndarray, base: np.ndarray, spec: dict,
                       rng: np.random.Generator, *, dropout: np.ndarray,
                       missed_visit_rate: float) -> tuple[pd.DataFrame, dict]:
    """Visits with a ``treatment`` column and the truth of a switching cohort.

    Parameters
    ----------
    patients : DataFrame
        Baseline table; its ``treatment`` column is replaced (the baseline treatment,
        a ``Categorical`` with levels ``[from, to]``).
    eta : ndarray
        True static log relative hazards (treatment excluded).
    base : ndarray
        Monthly baseline hazard rates (length ``follow_up``).
    spec : dict
        From :func:`switching_spec`.
    rng : Generator
    dropout : ndarray
        Withdrawal times (``inf``: never).
    missed_visit_rate : float

    Returns
    -------
    visits, truth
        ``visits``: ``patient_id, month, recovered, treatment`` (the treatment recorded
        at the visit, acting until the next one); ``truth``: ``recovery_time``,
        ``switch_month`` (``None`` if never), ``frailty``.
    """
    n, follow_up = len(patients), len(base)
    levels = [spec["from"], spec["to"]]
    on_to = rng.random(n) < spec["baseline_share"]
    frailty = (rng.normal(0.0, spec["frailty_sd"], n) if spec["mechanism"] == "non-recovery"
               else np.zeros(n))
    months = np.arange(follow_up + 1)
    attended = rng.random((n, follow_up + 1)) >= missed_visit_rate
    attended[:, 0] = True
    attended[:, -1] = True
    attended &= months[None, :] <= dropout[:, None]
    exp_draw = rng.exponential(size=n)
    switch_u = rng.random((n, follow_up + 1))
    logit0 = np.log(spec["rate"] / (1 - spec["rate"])) if spec["rate"] > 0 else -np.inf
    treat = np.zeros((n, follow_up + 1), bool)   # treatment recorded at visit m
    treat[:, 0] = on_to
    t_rec = np.full(n, np.inf)
    cum = np.zeros(n)
    switch_month = np.full(n, -1)
    for m in range(follow_up):
        if m > 0:
            current = treat[:, m - 1]
            if spec["mechanism"] == "random":
                p = np.full(n, spec["rate"])
            else:
                p = 1 / (1 + np.exp(-(logit0 - spec["strength"] * frailty)))
            sw = (attended[:, m] & ~current & (t_rec > m) & (switch_u[:, m] < p))
            treat[:, m] = current | sw
            switch_month[sw] = m
        rate = base[m] * np.exp(eta + frailty + spec["log_hr"] * treat[:, m])
        new = cum + rate
        hit = np.isinf(t_rec) & (new >= exp_draw)
        t_rec[hit] = m + (exp_draw[hit] - cum[hit]) / rate[hit]
        cum = new
    treat[:, follow_up] = treat[:, follow_up - 1]
    recovered = months[None, :] >= t_rec[:, None]
    seen = attended & recovered
    first_seen = np.where(seen.any(axis=1), seen.argmax(axis=1), follow_up + 1)
    keep = attended & (months[None, :] <= first_seen[:, None])
    pid, m = np.nonzero(keep)
    ids = patients["patient_id"].to_numpy()
    visits = pd.DataFrame({"patient_id": ids[pid], "month": months[m],
                           "recovered": recovered[pid, m],
                           "treatment": np.asarray(levels, object)[treat[pid, m].astype(int)]})
    patients["treatment"] = pd.Categorical(np.asarray(levels, object)[on_to.astype(int)],
                                           categories=levels)
    truth = {
        "time_varying": {"treatment": {spec["from"]: 0.0, spec["to"]: float(spec["log_hr"])}},
        "switching": dict(spec),
        "recovery_time": dict(zip(ids, t_rec.tolist(), strict=True)),
        "switch_month": {i: (int(s) if s >= 0 else None)
                         for i, s in zip(ids, switch_month, strict=True)},
        "frailty": dict(zip(ids, frailty.tolist(), strict=True)),
    }
    return visits, truth
