"""Unestimable Cox terms and lifelines' warnings as users read them (issue 14, point 8)."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest

import footdrop_bayes as fb
from footdrop_bayes import classical, plots, summaries
from footdrop_bayes.classical.cox_output import (
    cox_output_table,
    not_estimable_note,
    restate_lifelines,
)


@pytest.fixture(scope="module")
def no_event_level(study_tables):
    """The study cohort with every 'trauma' patient never recovering."""
    visits, patients = study_tables
    trauma = patients.loc[patients["cause"] == "trauma", "patient_id"]
    visits = visits.copy()
    visits.loc[visits["patient_id"].isin(trauma), "recovered"] = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cohort = fb.Cohort.from_visits(visits, patients, follow_up=6,
                                       factors=["cause", "sex"], covariates=["age"],
                                       reference={"cause": "radiculopathy"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = classical.cox(cohort, ["cause", "sex"], ["age"])
    return result, [str(w.message) for w in caught]


def test_a_level_without_recoveries_is_not_estimable(no_event_level):
    result, _ = no_event_level
    assert result.not_estimable == ["cause[trauma]"]
    raw = result.table.loc["cause[trauma]"]
    assert raw["hr"] < 1e-3 or raw["hr_high"] / raw["hr_low"] > 1e6    # lifelines' garbage
    table = cox_output_table(result)
    assert list(table["estimable"]) == [c != "cause[trauma]" for c in table.index]


def test_tables_say_not_estimable_and_leave_cells_empty(no_event_level):
    result, _ = no_event_level
    t = summaries.format_table(cox_output_table(result), interval=0.95)
    row = t[(t["Term"] == "cause") & (t["Level"] == "trauma")].iloc[0]
    assert row["HR (95% CI)"] == "not estimable" and row["p"] == ""
    age = t[t["Term"] == "age"].iloc[0]
    assert age["Level"] == "" and age["Reference"] == ""
    assert "estimable" not in t.columns
    md = summaries.to_markdown(t)
    tex = summaries.to_latex(t)
    for text in (md, tex):
        assert "not estimable" in text and "nan" not in text.lower()
        assert "inf" not in text.replace("Reference", "")


def test_note_names_the_term(no_event_level):
    result, _ = no_event_level
    note = not_estimable_note(result.table, ~cox_output_table(result)["estimable"])
    assert note.startswith("Not estimable: cause trauma vs radiculopathy.")


def test_forest_plot_marks_and_notes_the_unestimable_row(no_event_level):
    result, _ = no_event_level
    fig = plots.plot_hazard_ratios(None, cox_output_table(result))
    ax = next(a for a in fig.axes if a.get_label() == "forest")
    texts = [t.get_text() for t in ax.texts if t.get_gid() == "hr-text"]
    assert "not estimable" in texts
    assert [t for t in ax.texts if t.get_gid() == "not-estimable-note"]
    drawn = {ln.get_gid() for ln in ax.get_lines()}
    assert "cox:cause:trauma" not in drawn
    assert any((g or "").startswith("cox:sex:") for g in drawn)
    lo, hi = ax.get_xlim()
    assert hi <= 50 and lo >= 0.02
    plt.close(fig)


def test_lifelines_warnings_are_restated(no_event_level):
    result, caught = no_event_level
    for text in caught + result.warnings:
        assert "Newton-Rhaphson" not in text and "stats.stackexchange" not in text
    assert any("no recoveries at level 'trauma'" in m for m in caught)


@pytest.mark.parametrize("raw,expected", [
    ("The log-likelihood is getting suspiciously close to 0 and the delta is still large. "
     "There may be complete separation in the dataset.", "did not settle"),
    ("Newton-Raphson convergence completed successfully but norm(delta) is still high, "
     "0.250.", "did not settle"),
    ("Newton-Raphson failed to converge sufficiently. Please see ...", "did not converge"),
    ("Column(s) ['x'] have very low variance. This may harm convergence.",
     "estimated from these data (['x'])"),
    ("Something new from lifelines.\nSecond line", "Cox model (lifelines): Something new"),
])
def test_restate_lifelines(raw, expected):
    said = restate_lifelines(raw)
    assert expected in said and "\n" not in said


def test_rows_without_finite_bounds_are_flagged():
    import pandas as pd

    from footdrop_bayes.classical.cox_output import not_estimable

    s = pd.DataFrame({"term": ["a", "b"], "level": ["", ""], "reference": ["", ""],
                      "coef": [0.1, 16.3], "se(coef)": [0.2, 0.3],
                      "exp(coef) lower 95%": [0.8, 0.0],
                      "exp(coef) upper 95%": [1.6, np.inf]})
    assert list(not_estimable(s)) == [False, True]
    s.loc[1, "exp(coef) upper 95%"] = 10.0
    s.loc[1, "se(coef)"] = 7.0
    assert list(not_estimable(s)) == [False, True]


def test_third_party_notices_are_kept_out_of_the_report():
    from footdrop_bayes.analysis_guard import third_party_notice

    notice = warnings.WarningMessage(FutureWarning("arviz API"), FutureWarning,
                                     "arviz/stats.py", 1)
    real = warnings.WarningMessage(UserWarning("Cox model: ..."), UserWarning, "cox.py", 1)
    numba = warnings.WarningMessage(
        UserWarning('\x1b[1mCannot cache compiled function "numba_funcified_fgraph" as it '
                    'uses dynamic globals\x1b[0m'), UserWarning, "numba/core/x.py", 1)
    assert third_party_notice(notice) and third_party_notice(numba)
    assert not third_party_notice(real)
