"""Simulated recovery cohorts with known truth.

Recovery times come from a **continuous-time** proportional-hazards process with a
piecewise-constant baseline hazard (one rate per month), observed only at monthly visits:
the grouped-time model of the design note is correct for such data but not identical to
the process that made them. Patients withdraw at exponential times and miss visits at
random; the referral visit (time 0) and, unless the patient withdrew, the final visit are
always attended.

The default design mimics the published foot-drop study: sex, age, cause, site (given the
cause), lesion type (given the cause), onset-to-referral delay and treatment (no effect).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: Default log hazard ratios of recovery. Factor levels are against the first-listed level;
#: numeric covariates are per unit, centred at ``CENTRES``.
DEFAULT_EFFECTS: dict = {
    "sex": {"male": 0.0, "female": 0.1},
    "cause": {"radiculopathy": 0.0, "trauma": 0.95, "local compression": 1.25},
    "site": {"root": 0.0, "sciatic nerve": 0.05, "common peroneal nerve": 0.15,
             "deep peroneal nerve": 0.55},
    "lesion_type": {"axonal": 0.0, "demyelinating": 1.6},
    "treatment": {"conservative": 0.0, "physiotherapy": 0.0, "surgery": 0.0},
    "age": -0.025,
    "delay": -0.35,
}
CENTRES = {"age": 45.0, "delay": 1.5}
#: Baseline recovery hazard per month for the reference profile at the centres.
DEFAULT_BASELINE = (0.06, 0.10, 0.10, 0.09, 0.08, 0.07)

_CAUSE_P = {"radiculopathy": 0.42, "trauma": 0.39, "local compression": 0.19}
_SITE_GIVEN_CAUSE = {
    "radiculopathy": {"root": 1.0},
    "trauma": {"root": 0.2, "sciatic nerve": 0.28, "common peroneal nerve": 0.42,
               "deep peroneal nerve": 0.10},
    "local compression": {"common peroneal nerve": 0.7, "deep peroneal nerve": 0.3},
}
_DEMYELINATING_GIVEN_CAUSE = {"radiculopathy": 0.0, "trauma": 0.03, "local compression": 0.25}
_TREATMENT_P = {"conservative": 0.4, "physiotherapy": 0.45, "surgery": 0.15}


@dataclass
class SimulatedCohort:
    """Visits, patients and the true parameters of a simulated cohort.

    Unpacks as ``visits, patients, truth = simulate_cohort(...)``.
    """

    visits: pd.DataFrame
    patients: pd.DataFrame
    truth: dict = field(default_factory=dict)

    def __iter__(self):
        return iter((self.visits, self.patients, self.truth))


def _choice(rng, probs: dict, n: int) -> np.ndarray:
    levels = list(probs)
    p = np.array([probs[k] for k in levels], float)
    return np.asarray(levels, dtype=object)[rng.choice(len(levels), size=n, p=p / p.sum())]


def clinic_size_plan(n_patients: int, n_clinics: int, sizes="random") -> np.ndarray | None:
    """Patients per clinic: ``None`` for random assignment, else counts summing to n.

    Parameters
    ----------
    n_patients, n_clinics : int
        Cohort size and number of clinics.
    sizes : "random", "balanced", "unbalanced" or sequence of int
        ``"random"``: each patient's clinic drawn uniformly (returns ``None``);
        ``"balanced"``: as equal as possible; ``"unbalanced"``: geometric sizes from 1
        patient (the smallest clinic) to most of the cohort (the largest), e.g. 1 to
        about 1,000 with 50 clinics and 5,000 patients; a sequence: the counts themselves.
    """
    if isinstance(sizes, str):
        if sizes == "random":
            return None
        if sizes == "balanced":
            out = np.full(n_clinics, n_patients // n_clinics)
            out[: n_patients % n_clinics] += 1
            return out
        if sizes != "unbalanced":
            raise ValueError(f"clinic_sizes must be 'random', 'balanced', 'unbalanced' or "
                             f"a sequence of counts, got {sizes!r}")
        if n_patients < n_clinics:
            raise ValueError("unbalanced clinics need at least one patient per clinic")
        # geometric 1, r, r^2, ... with the ratio r chosen so the sizes sum to n_patients
        lo, hi = 1.0, float(n_patients)
        for _ in range(200):
            r = 0.5 * (lo + hi)
            total = np.sum(r ** np.arange(n_clinics))
            lo, hi = (r, hi) if total < n_patients else (lo, r)
        out = np.maximum(1, np.floor(r ** np.arange(n_clinics))).astype(int)
        out[-1] += n_patients - out.sum()
        return out
    out = np.asarray(sizes, dtype=int)
    if out.size != n_clinics or out.sum() != n_patients or (out < 1).any():
        raise ValueError(f"clinic_sizes must be {n_clinics} positive counts summing to "
                         f"{n_patients}, got {out.tolist()}")
    return out


def simulate_patients(n_patients: int, *, n_clinics: int = 1,
                      random_seed: int | np.random.Generator | None = None,
                      clinic_sizes="random") -> pd.DataFrame:
    """Baseline characteristics resembling the published study's patients.

    ``clinic_sizes`` as in :func:`clinic_size_plan` (with more than one clinic).
    """
    rng = np.random.default_rng(random_seed)
    cause = _choice(rng, _CAUSE_P, n_patients)
    site = np.empty(n_patients, dtype=object)
    demy = np.zeros(n_patients, bool)
    for c, probs in _SITE_GIVEN_CAUSE.items():
        m = cause == c
        site[m] = _choice(rng, probs, int(m.sum()))
        demy[m] = rng.random(int(m.sum())) < _DEMYELINATING_GIVEN_CAUSE[c]
    df = pd.DataFrame({
        "patient_id": [f"P{i + 1:04d}" for i in range(n_patients)],
        "age": np.clip(rng.normal(45, 17.3, n_patients), 16, 85).round(0),
        "sex": _choice(rng, {"male": 61, "female": 44}, n_patients),
        "site": site,
        "lesion_type": np.where(demy, "demyelinating", "axonal"),
        "cause": cause,
        "delay": np.round(rng.lognormal(np.log(1.4), 0.6, n_patients), 1),
        "treatment": _choice(rng, _TREATMENT_P, n_patients),
    })
    if n_clinics > 1:
        plan = clinic_size_plan(n_patients, n_clinics, clinic_sizes)
        if plan is None:
            codes = rng.integers(0, n_clinics, n_patients)
        else:
            codes = rng.permutation(np.repeat(np.arange(n_clinics), plan))
        df["clinic"] = [f"C{k + 1}" for k in codes]
    return df


def _merge_effects(effects: dict | None) -> dict:
    out = copy.deepcopy(DEFAULT_EFFECTS)
    for key, val in (effects or {}).items():
        if key not in out:
            raise ValueError(f"unknown effect {key!r}; known: {sorted(out)}")
        if isinstance(out[key], dict):
            unknown = set(val) - set(out[key])
            if unknown:
                raise ValueError(f"unknown levels {sorted(unknown)} for {key!r}")
            out[key] = {**out[key], **val}
        else:
            out[key] = float(val)
    return out


def linear_predictor(patients: pd.DataFrame, effects: dict) -> np.ndarray:
    """True log relative hazard of each patient under ``effects`` (clinic excluded)."""
    eta = np.zeros(len(patients))
    for key, val in effects.items():
        if isinstance(val, dict):
            eta += patients[key].map(val).to_numpy(float)
        else:
            eta += val * (patients[key].to_numpy(float) - CENTRES.get(key, 0.0))
    return eta


def _recovery_times(rng, eta: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """Invert the piecewise-constant cumulative hazard at Exp(1) draws."""
    e = rng.exponential(size=eta.size) / np.exp(eta)
    cum = np.concatenate([[0.0], np.cumsum(baseline)])
    k = np.searchsorted(cum, e, side="right") - 1
    last = len(baseline) - 1
    k = np.minimum(k, last)
    return k + (e - cum[k]) / baseline[k]


def simulate_cohort(n_patients: int, *, effects: dict | None = None, follow_up: int = 6,
                    baseline_hazard=None, withdrawal_rate: float = 0.1,
                    missed_visit_rate: float = 0.05, n_clinics: int = 1,
                    clinic_sd: float = 0.5, withdrawal: str | dict | None = None,
                    random_seed: int | np.random.Generator | None = None,
                    clinic_sizes="random", switching=None) -> SimulatedCohort:
    """Simulate monthly visit records of a recovery cohort with known truth.

    Parameters
    ----------
    n_patients : int
        Number of patients.
    effects : dict, optional
        Log hazard ratios merged over :data:`DEFAULT_EFFECTS` (a factor's levels, or a
        numeric covariate's per-unit coefficient).
    follow_up : int
        Planned follow-up in months; visits at 0, 1, ..., ``follow_up``.
    baseline_hazard : sequence of float, optional
        Monthly baseline hazard rates (length ``follow_up``); default
        :data:`DEFAULT_BASELINE`, extended with its last value.
    withdrawal_rate : float
        Probability of withdrawing before the end of follow-up (exponential dropout).
    missed_visit_rate : float
        Probability of missing each intermediate visit.
    n_clinics : int
        Number of clinics; with more than one, a ``clinic`` column and normal clinic
        effects of SD ``clinic_sd`` on the log hazard.
    clinic_sd : float
        True SD of the clinic effects (0: clinics without effect).
    withdrawal : str or dict, optional
        How withdrawal relates to recovery. ``None`` or ``"random"`` (default): withdrawal
        times are independent of recovery and the recovery process goes on unchanged
        after withdrawal (censoring at random; the same seed gives the same cohort as
        without this argument). ``"informative"``: withdrawn patients never recover after
        withdrawing. A dict sets ``"delta"`` (log hazard ratio of recovery after
        withdrawal against the model's hazard: ``-inf`` never, ``0`` unchanged) and/or
        ``"rate"`` (probability of withdrawing by the end of follow-up per level of one
        factor, e.g. ``{"treatment": {"surgery": 0.4}}``; unnamed levels keep
        ``withdrawal_rate``). The visits are the same whatever ``delta`` is (it acts only
        after withdrawal): only the complete-data truth changes.
    random_seed : int or Generator, optional
        Seed; the same seed gives the same cohort.
    clinic_sizes : "random", "balanced", "unbalanced" or sequence of int
        How patients are spread over clinics (:func:`clinic_size_plan`): uniformly at
        random (default), as equally as possible, geometrically from 1 patient to most
        of the cohort, or the given counts.
    switching : str or dict, optional
        Treatment that changes at visits (:mod:`footdrop_bayes.simulate_tv`):
        ``"random"`` (independent of prognosis), ``"non-recovery"`` (triggered by not
        improving: confounding by indication) or a dict of settings (``mechanism``,
        ``from``, ``to``, ``rate`` per visit, ``log_hr``, ``baseline_share``,
        ``frailty_sd``, ``strength``). The visits then carry a ``treatment`` column
        (fit with ``time_varying=["treatment"]``), the patients' ``treatment`` is the
        baseline one, the static treatment effect is ignored, and ``truth`` adds
        ``time_varying``, ``switching``, ``switch_month`` and ``frailty``.

    Returns
    -------
    SimulatedCohort
        ``visits`` (``patient_id, month, recovered``), ``patients`` and ``truth`` (effects,
        baseline, clinic effects, reference levels, each patient's recovery time without
        withdrawal ``recovery_time``, and the complete-data truth: ``withdrawal_time``
        (``None`` if the patient never withdraws), ``complete_recovery_time`` (the
        recovery time given the withdrawal mechanism; ``None`` if never) and
        ``recovered_by_end`` (recovered by the end of follow-up had every patient been
        followed to it)).
    """
    if not 0 <= withdrawal_rate < 1 or not 0 <= missed_visit_rate < 1:
        raise ValueError("withdrawal_rate and missed_visit_rate must lie in [0, 1)")
    post_delta, rate_by = _withdrawal_spec(withdrawal)
    rng = np.random.default_rng(random_seed)
    if clinic_sd < 0:
        raise ValueError(f"clinic_sd must be >= 0, got {clinic_sd}")
    patients = simulate_patients(n_patients, n_clinics=n_clinics, random_seed=rng,
                                 clinic_sizes=clinic_sizes)
    eff = _merge_effects(effects)
    if baseline_hazard is None:
        base = list(DEFAULT_BASELINE[:follow_up])
        base += [DEFAULT_BASELINE[-1]] * (follow_up - len(base))
    else:
        base = [float(b) for b in baseline_hazard]
        if len(base) != follow_up:
            raise ValueError(f"baseline_hazard needs {follow_up} monthly rates, got {len(base)}")
    eta = linear_predictor(patients, eff)
    clinic_effects = {}
    if n_clinics > 1:
        clinic_effects = {f"C{k + 1}": float(x)
                          for k, x in enumerate(rng.normal(0, clinic_sd, n_clinics))}
        eta = eta + patients["clinic"].map(clinic_effects).to_numpy(float)
    if switching is not None:
        from .simulate_tv import simulate_switching, switching_spec

        spec = switching_spec(switching)
        # the static treatment effect is replaced by the time-varying one
        eta = eta - patients["treatment"].map(eff.pop("treatment")).to_numpy(float)
        rate = -np.log1p(-withdrawal_rate) / follow_up if withdrawal_rate > 0 else 0.0
        dropout = (rng.exponential(1 / rate, n_patients) if rate > 0
                   else np.full(n_patients, np.inf))
        visits, extra = simulate_switching(patients, eta, np.asarray(base), spec, rng,
                                           dropout=dropout,
                                           missed_visit_rate=missed_visit_rate)
        truth = {"effects": eff, "centres": dict(CENTRES), "baseline_hazard": base,
                 "clinic_effects": clinic_effects, "follow_up": follow_up,
                 "reference": {k: next(iter(val)) for k, val in eff.items()
                               if isinstance(val, dict)},
                 "withdrawal_time": _finite_dict(patients["patient_id"], dropout),
                 "random_seed": random_seed if isinstance(random_seed, int) else None,
                 **extra}
        return SimulatedCohort(visits, patients, truth)
    t_rec = _recovery_times(rng, eta, np.asarray(base))
    if rate_by is None:
        rate = -np.log1p(-withdrawal_rate) / follow_up if withdrawal_rate > 0 else 0.0
        dropout = (rng.exponential(1 / rate, n_patients) if rate > 0
                   else np.full(n_patients, np.inf))
    else:
        dropout = _dropout_by_level(rng, patients, rate_by, withdrawal_rate, follow_up)
    t_complete = _post_withdrawal(t_rec, dropout, post_delta, np.asarray(base))

    visits = observe_at_visits(rng, patients["patient_id"].to_numpy(), t_rec, dropout,
                               follow_up, missed_visit_rate)
    truth = {
        "effects": eff, "centres": dict(CENTRES), "baseline_hazard": base,
        "clinic_effects": clinic_effects, "follow_up": follow_up,
        "reference": {k: next(iter(val)) for k, val in eff.items() if isinstance(val, dict)},
        "recovery_time": dict(zip(patients["patient_id"], t_rec.tolist(), strict=True)),
        "withdrawal": {"delta": post_delta, "rate": rate_by},
        "withdrawal_time": _finite_dict(patients["patient_id"], dropout),
        "complete_recovery_time": _finite_dict(patients["patient_id"], t_complete),
        "recovered_by_end": dict(zip(patients["patient_id"],
                                     (t_complete <= follow_up).tolist(), strict=True)),
        "random_seed": random_seed if isinstance(random_seed, int) else None,
    }
    return SimulatedCohort(visits, patients, truth)


def observe_at_visits(rng: np.random.Generator, patient_ids: np.ndarray, t_rec: np.ndarray,
                      dropout: np.ndarray, follow_up: int,
                      missed_visit_rate: float) -> pd.DataFrame:
    """Monthly visit records of patients recovering at ``t_rec`` and withdrawing at ``dropout``.

    Visits at months 0..``follow_up``; each is missed with probability
    ``missed_visit_rate`` except the first and the last (the last only if the patient is
    still followed); a patient is followed until withdrawal or until recovery is first
    seen (at the first attended visit after it): columns ``patient_id, month,
    recovered``.
    """
    n_patients = len(patient_ids)
    months = np.arange(follow_up + 1)
    attended = rng.random((n_patients, follow_up + 1)) >= missed_visit_rate
    attended[:, 0] = True
    attended[:, -1] = True
    attended &= months[None, :] <= dropout[:, None]
    recovered = months[None, :] >= t_rec[:, None]
    seen = attended & recovered
    first_seen = np.where(seen.any(axis=1), seen.argmax(axis=1), follow_up + 1)
    keep = attended & (months[None, :] <= first_seen[:, None])
    pid, m = np.nonzero(keep)
    return pd.DataFrame({"patient_id": patient_ids[pid], "month": months[m],
                         "recovered": recovered[pid, m]})


def _withdrawal_spec(withdrawal) -> tuple[float, dict | None]:
    """(post-withdrawal log hazard ratio, withdrawal rates by level or None)."""
    if withdrawal is None or withdrawal == "random":
        return 0.0, None
    if withdrawal == "informative":
        return -np.inf, None
    if not isinstance(withdrawal, dict):
        raise ValueError(f"withdrawal must be None, 'random', 'informative' or a dict, "
                         f"got {withdrawal!r}")
    unknown = set(withdrawal) - {"delta", "rate"}
    if unknown:
        raise ValueError(f"unknown withdrawal keys {sorted(unknown)}; known: delta, rate")
    delta = float(withdrawal.get("delta", 0.0))
    if np.isnan(delta):
        raise ValueError("withdrawal delta must be a number, -inf or inf")
    rate = withdrawal.get("rate")
    if rate is not None:
        if not isinstance(rate, dict) or len(rate) != 1:
            raise ValueError("withdrawal rate must be {factor: {level: probability}}")
        (factor, levels), = rate.items()
        bad = [v for v in levels.values() if not 0 <= float(v) < 1]
        if bad:
            raise ValueError(f"withdrawal probabilities must lie in [0, 1), got {bad}")
        rate = {str(factor): {str(k): float(v) for k, v in levels.items()}}
    return delta, rate


def _dropout_by_level(rng, patients, rate_by, default, follow_up) -> np.ndarray:
    """Exponential dropout times with a rate per level of one factor."""
    (factor, levels), = rate_by.items()
    if factor not in patients.columns:
        raise ValueError(f"withdrawal rate by {factor!r}: not a patient column "
                         f"({list(patients.columns)})")
    unknown = set(levels) - set(patients[factor].astype(str))
    if unknown:
        raise ValueError(f"withdrawal rate by {factor!r}: unknown levels {sorted(unknown)}")
    p = patients[factor].astype(str).map(levels).fillna(default).to_numpy(float)
    rate = -np.log1p(-p) / follow_up
    e = rng.exponential(size=len(patients))
    with np.errstate(divide="ignore"):
        return np.where(rate > 0, e / rate, np.inf)


def _post_withdrawal(t_rec, dropout, delta, baseline) -> np.ndarray:
    """Recovery times when the hazard after withdrawal is multiplied by exp(delta).

    A patient not recovered at withdrawal ``D`` has residual cumulative hazard
    ``H(T) - H(D)`` ~ Exp(1) / exp(eta); it is stretched by exp(-delta), so the same
    random number gives the new time (``inf`` when delta = -inf).
    """
    late = t_rec > dropout
    if delta == 0 or not late.any():
        return t_rec.copy()
    cum = np.concatenate([[0.0], np.cumsum(baseline)])

    def h(t):          # baseline cumulative hazard, last rate carried forward
        k = np.minimum(np.floor(t).astype(int), len(baseline) - 1)
        return cum[k] + baseline[k] * (t - k)

    def h_inv(x):
        k = np.minimum(np.searchsorted(cum, x, side="right") - 1, len(baseline) - 1)
        return k + (x - cum[k]) / baseline[k]

    out = t_rec.copy()
    if delta == -np.inf:
        out[late] = np.inf
        return out
    d = dropout[late]
    target = h(d) + (h(t_rec[late]) - h(d)) * np.exp(-delta)
    out[late] = h_inv(target)
    return out


def _finite_dict(ids, values) -> dict:
    """{id: value}, with None for infinite values (valid JSON)."""
    return {k: (float(v) if np.isfinite(v) else None)
            for k, v in zip(ids, np.asarray(values, float), strict=True)}
