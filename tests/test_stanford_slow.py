"""Stanford heart transplant data: transplant as a time-varying covariate (slow).

lifelines' ``load_stanford_heart_transplants`` written as day-level visits
(:func:`footdrop_bayes.datasets.load_stanford_visits`) and fitted with
``time_varying=["transplant"]``: Cox with time-varying covariates on the cohort's long
rows equals lifelines' ``CoxTimeVaryingFitter`` on its own rows, and the Bayesian
posterior means lie within 0.3 Cox standard errors of it (measured: 0.23 at most).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import footdrop_bayes as fb
from footdrop_bayes.classical.time_varying import cox_time_varying

pytestmark = pytest.mark.slow


def test_stanford_transplant_agrees_with_lifelines():
    from lifelines import CoxTimeVaryingFitter
    from lifelines.datasets import load_stanford_heart_transplants

    visits, patients = fb.datasets.load_stanford_visits()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fb.DataWarning)
        cohort = fb.Cohort.from_visits(visits, patients, time_col="day", time_unit="day",
                                       factors=[], covariates=["age", "year", "surgery"],
                                       time_varying=["transplant"])
    assert cohort.n_patients == 103 and int(cohort.intervals["event"].sum()) == 75
    ref = CoxTimeVaryingFitter().fit(load_stanford_heart_transplants(), id_col="id",
                                     start_col="start", stop_col="stop", event_col="event")
    ours = cox_time_varying(cohort).set_index("term")["log_hr"]
    np.testing.assert_allclose(ours[ref.params_.index], ref.params_, atol=1e-3)

    model = fb.RecoveryModel(cohort, sampler_config={"progressbar": False}).fit(random_seed=1)
    assert model.diagnostics()["divergences"] == 0
    post = model.idata.posterior
    means = {c: float(post["beta"].sel(covariate=c).mean()) for c in ["age", "year", "surgery"]}
    means["transplant"] = float(post["log_hr_transplant"].sel(transplant="1").mean())
    for term, mean in means.items():
        assert abs(mean - ref.params_[term]) < 0.3 * ref.standard_errors_[term], term
