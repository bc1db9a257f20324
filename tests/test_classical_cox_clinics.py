"""Cox with a clinic: strata and cluster-robust errors equal lifelines' own fits."""

import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter

import footdrop_bayes as fb
from footdrop_bayes import classical


@pytest.fixture(scope="module")
def clinic_cohort():
    visits, patients, _ = fb.simulate_cohort(240, n_clinics=5, clinic_sd=0.6, random_seed=21)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fb.DataWarning)
        return fb.Cohort.from_visits(visits, patients, follow_up=6,
                                     factors=["cause", "clinic"], covariates=["age"])


def lifelines_frame(cohort):
    cause = cohort.covariates["cause"]
    df = pd.DataFrame({f"cause[{lv}]": (cause == lv).astype(float)
                       for lv in cause.cat.categories[1:]})
    df["age"] = cohort.covariates["age"].astype(float)
    df["T"] = cohort.duration.astype(float)
    df["E"] = cohort.intervals["event"].astype(int)
    df["clinic"] = cohort.covariates["clinic"].astype(str)
    return df


@pytest.mark.parametrize("handling,kw", [("strata", {"strata": ["clinic"]}),
                                         ("cluster", {"cluster_col": "clinic"}),
                                         ("ignore", {})])
def test_clinic_handling_equals_lifelines(clinic_cohort, handling, kw):
    res = classical.cox(clinic_cohort, ["cause"], ["age"], group="clinic",
                        group_handling=handling, alpha=0.1)
    df = lifelines_frame(clinic_cohort)
    if handling == "ignore":
        df = df.drop(columns="clinic")
    ref = CoxPHFitter(alpha=0.1).fit(df, "T", "E", **kw).summary
    np.testing.assert_allclose(res.summary["coef"], ref["coef"].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(res.summary["se(coef)"], ref["se(coef)"].to_numpy(),
                               rtol=1e-6)
    np.testing.assert_allclose(res.table["hr_low"], ref["exp(coef) lower 90%"].to_numpy(),
                               rtol=1e-6)
    np.testing.assert_allclose(res.table["p_value"], ref["p"].to_numpy(), rtol=1e-5)
    assert res.group == "clinic" and res.group_handling == handling
    assert "clinic" not in set(res.table["term"])


def test_strata_and_cluster_differ_from_ignoring_the_clinic(clinic_cohort):
    fits = {h: classical.cox(clinic_cohort, ["cause"], ["age"], group="clinic",
                             group_handling=h) for h in ("strata", "cluster", "ignore")}
    # cluster: same point estimates as ignoring the clinic, other standard errors
    np.testing.assert_allclose(fits["cluster"].summary["coef"],
                               fits["ignore"].summary["coef"], rtol=1e-8)
    assert not np.allclose(fits["cluster"].summary["se(coef)"],
                           fits["ignore"].summary["se(coef)"])
    assert not np.allclose(fits["strata"].summary["coef"], fits["ignore"].summary["coef"])


def test_default_is_strata_and_clinic_is_not_a_term(clinic_cohort):
    res = classical.cox(clinic_cohort, group="clinic")
    assert res.group_handling == "strata"
    assert set(res.table["term"]) == {"cause", "age"}
    no_group = classical.cox(clinic_cohort, ["cause"], ["age"])
    assert no_group.group is None and no_group.group_handling == "none"


@pytest.mark.parametrize("kw,message", [
    ({"group": "clinic", "group_handling": "frailty"}, "--cox-clinic"),
    ({"group": "colour"}, "unknown factor 'colour'"),
    ({"group": "clinic", "factors": ["cause", "clinic"]}, "both the clinic"),
])
def test_bad_clinic_options(clinic_cohort, kw, message):
    with pytest.raises(fb.DataError, match=message):
        classical.cox(clinic_cohort, **kw)
