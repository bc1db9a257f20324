"""Visit windows: real visits counted as the scheduled visit they stand for."""

import warnings

import numpy as np
import pandas as pd
import pytest

import footdrop_bayes as fb
from footdrop_bayes.schedule import schedule_times

# fractional months, as from days / 30.4375; follow-up 6 months
#   A: 0, 0.9, 2.1, 6.1 recovered          -> window 0.5: 0, 1, 2, 6  -> (2, 6]
#   B: 0, 1.0, 5.9 unrecovered             -> completed: censored at 6, not withdrawn
#   C: 0, 1.3 unrecovered (off a 0.25 window)
#   D: 0, 0.2 recovered                    -> to month 1 (recovery at 0 is impossible)
#   E: 0, 4.8 unrecovered, 5.2 recovered   -> both at 5, merged as recovered -> (0, 5]
#   F: 0, 3, 8.0                           -> 8.0 is after 6 + 0.5: ignored
ROWS = [("A", 0, 0), ("A", 0.9, 0), ("A", 2.1, 0), ("A", 6.1, 1),
        ("B", 0, 0), ("B", 1.0, 0), ("B", 5.9, 0),
        ("C", 0, 0), ("C", 1.3, 0),
        ("D", 0, 0), ("D", 0.2, 1),
        ("E", 0, 0), ("E", 4.8, 0), ("E", 5.2, 1),
        ("F", 0, 0), ("F", 3, 0), ("F", 8.0, 0)]
VISITS = pd.DataFrame(ROWS, columns=["patient_id", "month", "recovered"])
PATIENTS = pd.DataFrame({"patient_id": list("ABCDEF"), "sex": list("fmfmfm")})


def build(**kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c = fb.Cohort.from_visits(VISITS, PATIENTS, follow_up=6, factors=["sex"],
                                  covariates=[], **kw)
    return c, [str(w.message) for w in caught if issubclass(w.category, fb.DataWarning)]


def row(c, pid):
    iv = c.intervals.loc[pid]
    return (iv["last_unrecovered"], iv["first_recovered"], iv["event"], iv["withdrawn"])


def test_exact_times_lose_the_completers_and_the_late_recovery():
    c, msgs = build()                       # numbers: exact by default
    assert row(c, "B")[3]                   # 5.9 < 6: withdrawn
    assert not c.intervals.loc["A", "event"]       # the 6.1 recovery was dropped
    late = next(m for m in msgs if "after the end of follow-up" in m)
    assert "'A'" in late and "'F'" in late and "pass visit_window=" in late


def test_half_month_window_hand_worked():
    c, msgs = build(visit_window=0.5)
    assert row(c, "A")[:3] == (2, 6, True)
    assert row(c, "B")[0] == 6 and not row(c, "B")[3]      # completer
    assert c.intervals.loc["B", "admin_censored"]
    assert row(c, "C")[0] == 1 and row(c, "C")[3]          # 1.3 -> 1, withdrawn
    assert row(c, "D")[:3] == (0, 1, True)
    assert row(c, "E")[:3] == (0, 5, True)
    assert row(c, "F")[0] == 3 and row(c, "F")[3]
    np.testing.assert_array_equal(c.grid, [0, 1, 2, 3, 5, 6])
    moved = next(m for m in msgs if "moved to their scheduled time" in m)
    # A 3, B 1, C 1, D 1, E 2 visits; the largest move is D's recovery, 0.2 -> 1
    assert "8 visit(s) moved" in moved and "largest move 0.80 month" in moved
    merged = next(m for m in msgs if "merged" in m)
    assert "1 visit(s) merged" in merged and "disagree" in merged and "'E'" in merged
    assert any("ignored 1 visit(s)" in m and "'F'" in m for m in msgs)
    assert len(c.notes) == 3


def test_narrow_window_keeps_off_schedule_visits_at_exact_times():
    c, msgs = build(visit_window=0.25)
    assert row(c, "C")[0] == pytest.approx(1.3)
    assert 1.3 in c.grid.round(6)
    off = next(m for m in msgs if "outside every" in m)
    assert "1 visit(s)" in off and "'C'" in off


def test_exact_times_with_a_window_only_at_the_end():
    c, _ = build(visit_window=0.5, exact_times=True)
    assert row(c, "A")[:3] == (2.1, 6, True)        # 6.1 -> the month-6 visit
    assert row(c, "B")[0] == 5.9 and not row(c, "B")[3]    # completer, exact time kept
    assert row(c, "C")[0] == 1.3
    assert row(c, "E")[:3] == (4.8, 5.2, True)


def test_window_larger_than_half_the_interval_is_an_error():
    with pytest.raises(fb.DataError, match="visit_window must be between 0 and half"):
        build(visit_window=0.6)
    with pytest.raises(fb.DataError, match="visit_interval must be a positive"):
        build(visit_interval=0)


def test_schedule_and_weekly_interval():
    np.testing.assert_allclose(schedule_times(6, 1), np.arange(7))
    np.testing.assert_allclose(schedule_times(5, 2), [0, 2, 4, 5])
    c, _ = build(visit_window=1.0, visit_interval=3)     # quarterly visits, +/- 1 month
    # A: 0.9 -> 0, 2.1 -> 3, 6.1 -> 6: (3, 6]
    assert row(c, "A")[:3] == (3, 6, True)
