"""The study table: its tests, its counts, and the bias of excluding withdrawn patients."""

from __future__ import annotations

from itertools import product
from math import comb

import numpy as np
import pytest
from scipy import stats

import footdrop_bayes as fb
from footdrop_bayes.classical import Bands, contingency_test, kaplan_meier, logrank, study_table


def _ffh_exact(table):
    """Brute-force Fisher–Freeman–Halton p-value of an r x 2 table."""
    table = np.asarray(table)
    rows, col0 = table.sum(1), table[:, 0].sum()

    def prob(x):  # multivariate hypergeometric probability of first-column counts x
        return np.prod([comb(int(n), int(k)) for n, k in zip(rows, x, strict=True)]) / comb(
            int(rows.sum()), int(col0))

    p_obs = prob(table[:, 0])
    p = 0.0
    for x in product(*[range(n + 1) for n in rows]):
        if sum(x) == col0:
            px = prob(x)
            if px <= p_obs * (1 + 1e-7):
                p += px
    return p


def test_contingency_rules():
    big = np.array([[30, 20], [15, 35], [25, 25]])
    p, name = contingency_test(big)
    e = stats.contingency.expected_freq(big)
    x2 = ((big - e) ** 2 / e).sum()
    assert name == "chi-square"
    assert p == pytest.approx(stats.chi2.sf(x2, 2), rel=1e-12)
    small = np.array([[6, 2], [1, 4]])
    p, name = contingency_test(small)
    assert name == "Fisher exact"
    assert p == pytest.approx(stats.fisher_exact(small).pvalue)
    rx2 = np.array([[15, 19], [3, 1], [6, 2], [8, 1]])
    p, name = contingency_test(rx2, n_resamples=50_000, random_seed=1)
    assert name.startswith("Fisher-Freeman-Halton")
    exact = _ffh_exact(rx2)
    assert p == pytest.approx(exact, abs=0.006)  # > 5 Monte Carlo standard errors
    assert contingency_test(rx2, n_resamples=50_000, random_seed=1)[0] == p
    assert np.isnan(contingency_test(np.array([[5, 0], [7, 0]]))[0])
    # a level with nobody analysed is left out of the test
    p3, _ = contingency_test(np.array([[6, 2], [1, 4], [0, 0]]))
    assert p3 == pytest.approx(stats.fisher_exact(small).pvalue)


def test_study_table_counts_and_km(study_cohort):
    tab = study_table(study_cohort)
    assert tab.index.names == ["factor", "level"]
    assert tab.index[0] == ("overall", "all")
    assert (tab["n"] == tab["withdrawn"] + tab["analysed"]).all()
    np.testing.assert_allclose(tab["percent_excluding_withdrawn"],
                               100 * tab["recovered"] / tab["analysed"])
    overall = tab.loc[("overall", "all")]
    c = study_cohort.counts()
    assert overall["n"] == c["patients"] and overall["withdrawn"] == c["withdrawn"]
    assert overall["recovered"] == c["recovered"]
    for f in study_cohort.factors:
        assert tab.loc[f, "n"].sum() == c["patients"]
    km = kaplan_meier(study_cohort, by="cause").sel(month=6)
    for lv in km["cause"].values:
        row = tab.loc[("cause", lv)]
        assert row["percent_km"] == pytest.approx(100 * km["recovered"].sel(cause=lv).item())
        if row["percent_km"] < 100:
            assert row["percent_km_low"] <= row["percent_km"] <= row["percent_km_high"]
        else:                     # everyone at risk recovered: Greenwood undefined
            assert np.isnan(row["percent_km_low"]) and np.isnan(row["percent_km_high"])
    lr = logrank(study_cohort)
    assert tab.loc[("site", "root"), "p_logrank"] == pytest.approx(lr.loc["site", "p_value"])


def test_study_table_shape_of_published(study_cohort):
    """Published: site, lesion type and cause differ; treatment does not.

    Lesion type (6-7 demyelinating patients in 105) is too rare for a stable p-value in a
    synthetic draw, so only its direction is asserted.
    """
    tab = study_table(study_cohort)
    first = tab.groupby(level="factor", sort=False).first()
    for f in ("site", "cause"):
        assert first.loc[f, "p_excluding_withdrawn"] < 0.05
        assert first.loc[f, "p_logrank"] < 0.05
    assert (tab.loc[("lesion_type", "demyelinating"), "percent_km"]
            > tab.loc[("lesion_type", "axonal"), "percent_km"])
    assert (tab.loc[("cause", "radiculopathy"), "percent_excluding_withdrawn"]
            < tab.loc[("cause", "trauma"), "percent_excluding_withdrawn"])
    assert first.loc["treatment", "p_excluding_withdrawn"] > 0.05
    assert first.loc["treatment", "p_logrank"] > 0.05


def test_bands_and_earlier_time(study_cohort):
    bands = {"age": Bands([40, 60], ["<40", "40–59", "≥60"]),
             "delay": Bands([1, 3], ["≤1", "1–3", ">3"], closed="right")}
    tab = study_table(study_cohort, ["age", "delay"], bands=bands)
    assert list(tab.loc["age"].index) == ["<40", "40–59", "≥60"]
    delay = study_cohort.covariates["delay"]
    assert tab.loc[("delay", "≤1"), "n"] == (delay <= 1).sum()
    assert tab.loc[("delay", ">3"), "n"] == (delay > 3).sum()
    at3 = study_table(study_cohort, "cause", at=3)
    full = study_table(study_cohort, "cause")
    assert (at3["recovered"] <= full["recovered"]).all()
    assert (at3["withdrawn"] <= full["withdrawn"]).all()
    km3 = kaplan_meier(study_cohort).sel(month=3)["recovered"].item()
    assert at3.loc[("overall", "all"), "percent_km"] == pytest.approx(100 * km3)
    with pytest.raises(fb.DataError, match="at must lie"):
        study_table(study_cohort, at=9)


def test_excluding_withdrawn_is_biased_km_is_not():
    """Withdrawal of still-unrecovered patients in one group after month 2.

    Each radiculopathy patient not recovered by month 2 leaves with probability 0.6,
    whatever their future: censoring is independent of the recovery time given the past,
    so Kaplan–Meier stays consistent, while dropping them leaves the group's better
    outlooks and inflates its recovery rate.
    """
    visits, patients, truth = fb.simulate_cohort(3000, withdrawal_rate=0.0,
                                                 missed_visit_rate=0.0, random_seed=11)
    rng = np.random.default_rng(5)
    t_rec = patients["patient_id"].map(truth["recovery_time"]).to_numpy()
    radic = (patients["cause"] == "radiculopathy").to_numpy()
    leave = patients["patient_id"][radic & (t_rec > 2) & (rng.random(len(patients)) < 0.6)]
    visits = visits[~(visits["patient_id"].isin(leave) & (visits["month"] > 2))]
    cohort = fb.Cohort.from_visits(visits, patients, follow_up=6, factors=["cause"],
                                   covariates=[])
    tab = study_table(cohort, "cause")
    for level in ("radiculopathy", "trauma", "local compression"):
        m = (patients["cause"] == level).to_numpy()
        true = 100 * (t_rec[m] <= 6).mean()
        row = tab.loc[("cause", level)]
        assert row["percent_km_low"] < true < row["percent_km_high"]
        if level == "radiculopathy":
            assert row["withdrawn"] > 500
            assert row["percent_excluding_withdrawn"] - true > 7  # biased upwards
            assert row["percent_excluding_withdrawn"] > row["percent_km_high"]
            assert abs(row["percent_km"] - true) < 2
        else:
            assert row["withdrawn"] == 0
            assert row["percent_excluding_withdrawn"] == pytest.approx(row["percent_km"])
