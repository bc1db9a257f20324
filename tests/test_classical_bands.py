"""Banding continuous covariates into user-named groups."""

from __future__ import annotations

import pandas as pd
import pytest

import footdrop_bayes as fb
from footdrop_bayes.classical import Bands, band_covariates


def test_left_and_right_closed_bands():
    x = pd.Series([39.0, 40.0, 59.9, 60.0], name="age")
    left = Bands([40, 60], ["<40", "40–59", "≥60"]).apply(x)
    assert list(left) == ["<40", "40–59", "40–59", "≥60"]
    assert left.cat.ordered
    right = Bands([1, 3], ["≤1", "1–3", ">3"], closed="right").apply(
        pd.Series([1.0, 1.1, 3.0, 3.1]))
    assert list(right) == ["≤1", "1–3", "1–3", ">3"]


@pytest.mark.parametrize("args, match", [
    (([60, 40], ["a", "b", "c"]), "increasing"),
    (([40], ["a", "b", "c"]), "label"),
    (([40], ["a", "a"]), "distinct"),
    (([40], ["a", "b"], "both"), "closed"),
])
def test_bad_bands(args, match):
    with pytest.raises(fb.DataError, match=match):
        Bands(*args)


def test_band_covariates(study_cohort):
    banded = band_covariates(study_cohort, {"age": ([40, 60], ["<40", "40–59", "≥60"])})
    assert "age" in banded.factors and "age" not in banded.numeric
    assert banded.covariates["age"].cat.categories[0] == "<40"  # reference = first band
    assert banded.intervals is study_cohort.intervals
    assert "age" in study_cohort.numeric  # the input cohort is untouched
    with pytest.raises(fb.DataError, match="numeric covariates"):
        band_covariates(study_cohort, {"site": ([1], ["a", "b"])})
    with pytest.warns(fb.DataWarning, match="no patients in band"):
        out = band_covariates(study_cohort, {"age": ([0, 50], ["<0", "0–49", "≥50"])})
    assert list(out.covariates["age"].cat.categories) == ["0–49", "≥50"]
    with pytest.raises(fb.DataError, match="one band"), pytest.warns(fb.DataWarning):
        band_covariates(study_cohort, {"age": ([200], ["young", "old"])})
