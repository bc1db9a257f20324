"""The bundled synthetic cohort resembles the published study (fails if they drift apart)."""

import numpy as np
import pandas as pd
import pytest

import footdrop_bayes as fb


@pytest.fixture(scope="module")
def compared(study_cohort):
    published = fb.datasets.load_published_results().dropna(subset=["recovered_percent"])
    ours = fb.datasets.study_style_marginals(study_cohort)
    return published.merge(ours, on=["factor", "level"], suffixes=("_published", "_ours"))


def test_every_published_percentage_has_a_counterpart(compared):
    assert len(compared) == 10


def test_overall_recovery_close_to_published(compared):
    row = compared.set_index("level").loc["all"]
    assert abs(row["recovered_percent_ours"] - row["recovered_percent_published"]) < 5


@pytest.mark.parametrize("factor,tolerance", [("cause", 8), ("lesion_type", 8), ("site", 10)])
def test_recovery_by_level_close_to_published(compared, factor, tolerance):
    rows = compared[compared["factor"] == factor]
    diff = (rows["recovered_percent_ours"] - rows["recovered_percent_published"]).abs()
    assert (diff < tolerance).all(), rows.to_string()


def test_published_ordering_of_causes_is_kept(compared):
    rows = compared[compared["factor"] == "cause"].set_index("level")
    order = rows["recovered_percent_ours"].sort_values().index.tolist()
    assert order == ["radiculopathy", "trauma", "local compression"]


def test_demographics_resemble_published(study_tables):
    _, patients = study_tables
    assert len(patients) == 105
    assert abs((patients["sex"] == "male").sum() - 61) <= 3
    assert abs(patients["age"].mean() - 45) < 3
    assert abs(patients["age"].std() - 17.3) < 3


def test_bundled_cohort_is_the_scripts_output(study_tables):
    """The bundled tables regenerate from the recorded seed and settings."""
    truth = fb.datasets.load_study_truth()
    visits, patients = study_tables
    sim = fb.simulate_cohort(105, random_seed=truth["random_seed"], **truth["settings"])
    pd.testing.assert_frame_equal(sim.patients, patients, check_dtype=False)
    pd.testing.assert_frame_equal(sim.visits, visits, check_dtype=False)


def test_study_cohort_keeps_withdrawn_patients(study_cohort):
    counts = study_cohort.counts()
    assert counts["patients"] == 105
    assert counts["withdrawn"] > 0
    assert counts["recovered"] + counts["withdrawn"] + counts["admin_censored"] == 105
    assert np.isclose(study_cohort.follow_up, 6)
