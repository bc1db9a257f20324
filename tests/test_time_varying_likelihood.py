"""The time-varying interval likelihood against two oracles (no sampling).

- No missed visit: the person-period Bernoulli likelihood with a cloglog link.
- Missed visits: a brute-force loop over patients, with each patient's treatment path and
  interval read again from the raw visit records (not from the cohort's arrays).
"""

from __future__ import annotations

import numpy as np
import pytest

import footdrop_bayes as fb
from footdrop_bayes.model.tv_likelihood import tv_loglik_numpy


def _cohort(missed, seed):
    visits, patients, _ = fb.simulate_cohort(400, switching="random",
                                             missed_visit_rate=missed, random_seed=seed)
    c = fb.Cohort.from_visits(visits, patients, factors=["sex"], covariates=["age"],
                              time_varying=["treatment"], follow_up=6)
    return c, visits, patients


def _point(model, seed):
    """Parameter values at a random point: alpha, b_sex, beta_std, log_hr, loglik."""
    pm_model = model.model
    rng = np.random.default_rng(seed)
    ip = pm_model.initial_point(random_seed=seed)
    ip = {k: v + rng.normal(0, 0.4, np.shape(v)) for k, v in ip.items()}
    outs = pm_model.replace_rvs_by_values(       # at the point, not at fresh prior draws
        [pm_model["alpha"], pm_model["b_sex"], pm_model["beta_std"],
         pm_model["log_hr_treatment"], pm_model.potentials[0]])
    fn = pm_model.compile_fn(outs, inputs=pm_model.value_vars, on_unused_input="ignore",
                             point_fn=False, mode="FAST_COMPILE")
    return [np.asarray(x) for x in fn(*[ip[v.name] for v in pm_model.value_vars])]


def _static_eta(model, b_sex, beta_std):
    d = model.data
    return b_sex[d.codes["sex"]] + d.z @ beta_std


@pytest.fixture(scope="module")
def complete():
    cohort, *_ = _cohort(0.0, 21)
    return cohort, fb.RecoveryModel(cohort)


def test_equals_person_period_bernoulli_without_missed_visits(complete):
    cohort, model = complete
    assert (model.data.r_idx[model.data.event] - model.data.l_idx[model.data.event] == 1).all()
    alpha, b_sex, beta_std, gam, total = _point(model, 1)
    eta = _static_eta(model, b_sex, beta_std)
    pp = cohort.person_period()
    row = cohort.patient_ids.get_indexer(pp["patient"])
    j = np.searchsorted(cohort.grid, pp["stop"].to_numpy()) - 1
    levels = cohort.time_varying_levels["treatment"]
    tv = np.array([levels.index(x) for x in pp["treatment"]])
    hazard = np.exp(alpha[j]) * np.diff(cohort.grid)[j] * np.exp(eta[row] + gam[tv])
    # cloglog: p = 1 - exp(-exp(lin)), so log(1 - p) = -hazard exactly (stable where
    # p rounds to 1)
    ev = pp["event"].to_numpy() == 1
    bernoulli = np.log(-np.expm1(-hazard[ev])).sum() - hazard[~ev].sum()
    assert model.data.patterns["weight"].sum() == cohort.n_patients
    assert len(model.data.patterns["weight"]) < cohort.n_patients   # collapsing happened
    assert total == pytest.approx(bernoulli, abs=1e-8)


def _brute_force(v, base, grid, eta, alpha, gam, levels):
    """One patient's log-likelihood from the raw records, interval by interval."""
    months = [int(m) for m in v["month"]]
    status = [bool(x) for x in v["recovered"]]
    values = list(v["treatment"])
    rec = [m for m, s in zip(months, status, strict=True) if s]
    right = min(rec) if rec else None
    left = max(m for m, s in zip(months, status, strict=True)
               if not s and (right is None or m < right))
    h_before = h_between = 0.0
    for k in range(len(grid) - 1):
        start, stop = grid[k], grid[k + 1]
        recorded = [x for m, x in zip(months, values, strict=True) if m <= start]
        value = recorded[-1] if recorded else base
        dh = np.exp(alpha[k]) * (stop - start) * np.exp(eta + gam[levels.index(value)])
        if stop <= left:
            h_before += dh
        elif right is not None and stop <= right:
            h_between += dh
    return -h_before + (np.log(-np.expm1(-h_between)) if right is not None else 0.0)


def test_equals_a_brute_force_loop_with_missed_visits():
    cohort, visits, patients = _cohort(0.25, 22)
    model = fb.RecoveryModel(cohort)
    d = model.data
    assert (d.r_idx[d.event] - d.l_idx[d.event] > 1).sum() > 20   # visits were missed
    alpha, b_sex, beta_std, gam, total = _point(model, 2)
    eta = _static_eta(model, b_sex, beta_std)
    levels = cohort.time_varying_levels["treatment"]
    by_patient = dict(tuple(visits.sort_values("month").groupby("patient_id")))
    base = patients.set_index("patient_id")["treatment"]
    brute = np.array([_brute_force(by_patient[pid], base[pid], cohort.grid, eta[i], alpha,
                                   gam, levels) for i, pid in enumerate(cohort.patient_ids)])
    assert total == pytest.approx(brute.sum(), abs=1e-8)
    # the numpy version (used after sampling) per pattern, mapped back to patients
    pat = d.patterns
    per_pattern = tv_loglik_numpy(alpha, _static_eta_patterns(model, b_sex, beta_std), [gam],
                                  [pat["tv"]["treatment"]], d.widths, pat["l_idx"],
                                  pat["r_idx"], pat["event"])
    np.testing.assert_allclose(per_pattern[d.pattern_of], brute, atol=1e-10)


def _static_eta_patterns(model, b_sex, beta_std):
    pat = model.data.patterns
    return b_sex[pat["codes"]["sex"]] + pat["z"] @ beta_std


def test_time_varying_term_changes_the_likelihood(complete):
    """The likelihood depends on the path: without it (the baseline value held) it differs."""
    _, model = complete
    alpha, b_sex, beta_std, gam, total = _point(model, 3)
    d = model.data
    held = np.repeat(d.tv["paths"]["treatment"][:, :1], len(d.widths), axis=1)
    eta = _static_eta(model, b_sex, beta_std)
    ll_held = tv_loglik_numpy(alpha, eta, [gam], [held], d.widths, d.l_idx, d.r_idx,
                              d.event).sum()
    assert abs(ll_held - total) > 1.0
