"""Visit records into cohort parts: times, visit windows, intervals (for ``Cohort.from_visits``)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from . import validation as v
from .errors import DataError, DataWarning, format_ids
from .schedule import apply_windows, default_follow_up, resolve_window
from .timescale import time_unit_name, visit_times


def visit_intervals(visits, patients, *, id_col, time_col, status_col, recovered_when,
                    follow_up, vt, pt, origin_col, time_unit, visit_window, visit_interval,
                    exact_times, carry=(), sink=None):
    """Return ``(intervals, grid, follow_up, unit, excluded, notes)`` of checked tables.

    Arguments as in :meth:`footdrop_bayes.Cohort.from_visits` (``vt``, ``pt``: the
    tables' names). Times are converted (:mod:`.timescale`), visits moved to their
    scheduled times (:mod:`.schedule`), then each patient's interval is formed.
    Columns ``carry`` of ``visits`` travel with the cleaned visits, which are appended to
    the list ``sink`` when given (time-varying covariates, :mod:`.cohort_tv`).
    """
    from .cohort import _intervals

    unit = time_unit_name(time_unit)
    times, dated = visit_times(visits, time_col, id_col, vt, patients=patients,
                               origin_col=origin_col, patients_table=pt, time_unit=unit)
    rec = pd.DataFrame({
        id_col: visits[id_col].to_numpy(),
        "time": times.to_numpy(),
        "status": v.recovery_status(visits, status_col, id_col, vt,
                                    recovered_when).to_numpy(),
    })
    for col in carry:
        rec[col] = visits[col].to_numpy()
    rec = v.deduplicate_visits(rec, id_col, vt)
    unknown = ~rec[id_col].isin(patients[id_col])
    if unknown.any():
        raise DataError(f"{vt}: column {id_col!r} has patients that are not in {pt}: "
                        f"{format_ids(rec.loc[unknown, id_col])}")
    window = resolve_window(visit_window, visit_interval, dated)
    if follow_up is None:
        follow_up = default_follow_up(rec["time"], window, visit_interval)
    elif not np.isfinite(follow_up) or follow_up <= 0:
        raise DataError(f"follow_up must be a positive time, got {follow_up!r}")
    notes: list[str] = []
    rec = apply_windows(rec, id_col, follow_up=follow_up, window=window,
                        interval=visit_interval, exact_times=exact_times, table=vt,
                        unit=unit, notes=notes)
    at_zero = rec["status"] & (rec["time"] == 0)
    if at_zero.any():
        raise DataError(f"{vt}: column {status_col!r} records recovery at time 0 (every "
                        "patient has foot drop at referral) for patients "
                        f"{format_ids(rec.loc[at_zero, id_col])}")

    excluded = []
    no_visits = ~patients[id_col].isin(rec[id_col])
    if no_visits.any():
        ids = patients.loc[no_visits, id_col]
        warnings.warn(f"{pt}: excluded patients with no visits (within follow-up) in {vt}: "
                      f"{format_ids(ids)}", DataWarning, stacklevel=3)
        excluded += [(i, f"no visits in {vt}") for i in ids]
    if sink is not None:
        sink.append(rec)
    intervals = _intervals(rec, id_col, follow_up, vt,
                           complete_from=follow_up - window if exact_times else None)
    only_referral = intervals.index[intervals["withdrawn"]
                                    & (intervals["last_visit"] == 0)]
    if len(only_referral):
        warnings.warn(f"{vt}: patients seen only at referral (time 0) are kept as withdrawn "
                      "and censored at 0, but carry no information on recovery: "
                      f"{format_ids(only_referral)}", DataWarning, stacklevel=3)
    grid = np.union1d([0.0], rec["time"].unique())
    return intervals, grid, follow_up, unit, excluded, notes
