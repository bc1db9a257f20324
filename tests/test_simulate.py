"""The simulator: reproducible, and its visits give intervals containing the truth."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import footdrop_bayes as fb


def test_same_seed_same_cohort():
    a, b = fb.simulate_cohort(80, random_seed=5), fb.simulate_cohort(80, random_seed=5)
    pd.testing.assert_frame_equal(a.visits, b.visits)
    pd.testing.assert_frame_equal(a.patients, b.patients)
    assert not fb.simulate_cohort(80, random_seed=6).visits.equals(a.visits)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), withdrawal=st.floats(0, 0.6),
       missed=st.floats(0, 0.5), n=st.integers(20, 120))
def test_intervals_contain_true_recovery_time(seed, withdrawal, missed, n):
    sim = fb.simulate_cohort(n, random_seed=seed, withdrawal_rate=withdrawal,
                             missed_visit_rate=missed)
    if not sim.visits["recovered"].any():
        return
    cohort = fb.Cohort.from_visits(sim.visits, sim.patients, follow_up=6, factors=[],
                                   covariates=["age"])
    iv = cohort.intervals
    t = pd.Series(sim.truth["recovery_time"]).loc[iv.index]
    lower_ok = t > iv["last_unrecovered"]
    upper_ok = t <= iv["first_recovered"].fillna(np.inf)
    assert lower_ok.all() and upper_ok.all()
    # a patient censored administratively has not recovered by the end of follow-up
    assert (t[iv["admin_censored"]] > 6).all()


def test_effects_move_recovery_in_the_stated_direction():
    strong = fb.simulate_cohort(3000, random_seed=1, withdrawal_rate=0,
                                effects={"cause": {"trauma": 2.0}})
    t = pd.Series(strong.truth["recovery_time"])
    cause = strong.patients.set_index("patient_id")["cause"]
    assert t[cause == "trauma"].median() < t[cause == "radiculopathy"].median() / 2


def test_withdrawal_rate_is_honoured():
    sim = fb.simulate_cohort(4000, random_seed=2, withdrawal_rate=0.3,
                             baseline_hazard=[1e-3] * 6)
    cohort = fb.Cohort.from_visits(sim.visits, sim.patients, follow_up=6)
    assert abs(cohort.intervals["withdrawn"].mean() - 0.3) < 0.03


def test_clinics_have_effects():
    sim = fb.simulate_cohort(200, n_clinics=4, random_seed=3)
    assert set(sim.patients["clinic"]) <= {"C1", "C2", "C3", "C4"}
    assert len(sim.truth["clinic_effects"]) == 4
