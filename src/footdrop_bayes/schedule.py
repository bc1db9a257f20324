"""Visit windows: real visits moved to the scheduled visit they stand for.

Clinics schedule visits at multiples of a visit interval (monthly by default:
0, 1, 2, ... months) and see patients within a tolerance of them. With
``visit_window=w`` a visit within ``±w`` of a scheduled time counts as that visit
(the nearest one; ties go to the later). So a last visit at 5.9 or 6.1 months is the
month-6 visit: the patient completed follow-up (not *withdrawn*), and a recovery first
seen at 6.1 months is not lost after the end of follow-up. The end of follow-up is
always on the schedule.

Rules (each reported in one :class:`~footdrop_bayes.errors.DataWarning` naming the
patients, and in ``cohort.notes``):

- a visit outside every window keeps its exact time (the grid gets that time);
- a *recovered* visit just after time 0 goes to the first scheduled visit after 0, not
  to 0 (recovery at referral is impossible; the later time keeps the true recovery time
  inside the interval);
- two visits of a patient moved to the same scheduled time are merged into one, which
  is *recovered* if either is: recovery is absorbing in the model (the first recovery
  is kept), so under consistent records that is the later visit's status; patients
  whose merged visits disagree are named;
- visits after ``follow_up + w`` are ignored (named).

With ``exact_times=True`` no visit is moved except those in ``(follow_up,
follow_up + w]``, which become the end-of-follow-up visit; a patient last seen
unrecovered within ``w`` before the end counts as having completed follow-up
(administratively censored at the exact last visit, not withdrawn).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .errors import DataError, DataWarning, format_ids

#: Default tolerance for date input, as a fraction of the visit interval: every visit
#: goes to the nearest scheduled visit.
DEFAULT_DATE_WINDOW = 0.5
_EPS = 1e-9


def resolve_window(visit_window: float | None, visit_interval: float, dated: bool) -> float:
    """The window to use: the given one, else half the interval for dates, 0 for numbers."""
    if not (np.isfinite(visit_interval) and visit_interval > 0):
        raise DataError(f"visit_interval must be a positive time, got {visit_interval!r}")
    if visit_window is None:
        return DEFAULT_DATE_WINDOW * visit_interval if dated else 0.0
    w = float(visit_window)
    if not (np.isfinite(w) and 0 <= w <= visit_interval / 2 + _EPS):
        raise DataError(f"visit_window must be between 0 and half the visit interval "
                        f"({visit_interval / 2:g}), got {visit_window!r}")
    return w


def schedule_times(follow_up: float, interval: float) -> np.ndarray:
    """Scheduled visit times: multiples of ``interval`` before ``follow_up``, and it."""
    k = np.arange(0, int(np.floor(follow_up / interval + _EPS)) + 1) * interval
    return np.union1d(k[k < follow_up - _EPS], [follow_up])


def default_follow_up(times: pd.Series, window: float, interval: float) -> float:
    """Last visit time, moved to the scheduled time within ``window`` of it if any."""
    tmax = float(times.max())
    k = np.floor(tmax / interval + 0.5) * interval
    return float(k) if window > 0 and abs(tmax - k) <= window + _EPS and k > 0 else tmax


def apply_windows(rec: pd.DataFrame, id_col: str, *, follow_up: float, window: float,
                  interval: float, exact_times: bool, table: str, unit: str,
                  notes: list[str]) -> pd.DataFrame:
    """Move visits to scheduled times, drop visits after the end; report both.

    ``rec`` has columns ``id_col``, ``time`` and ``status`` (deduplicated). Returns the
    new rows; appends one line per kind of change to ``notes`` and warns with it.
    """
    rec = _drop_late(rec, id_col, follow_up, window, interval, table, unit, notes)
    if window <= 0:
        return rec
    t = rec["time"].to_numpy(float)
    new, off = scheduled_times(t, rec["status"].to_numpy(bool), follow_up=follow_up,
                               window=window, interval=interval, exact_times=exact_times)
    if off.any():
        _note(notes, table, off_text(int(off.sum()), window, interval, unit,
                                     format_ids(rec.loc[off, id_col])))
    moved = np.abs(new - t) > _EPS
    if moved.any():
        _note(notes, table, moved_text(int(moved.sum()), window, np.abs(new - t)[moved].max(),
                                       unit, format_ids(rec.loc[moved, id_col])))
    rec = rec.assign(time=new)
    return _merge_collisions(rec, id_col, table, unit, notes)


def scheduled_times(t: np.ndarray, status: np.ndarray, *, follow_up: float, window: float,
                    interval: float, exact_times: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each visit's time after the windows (row by row), and which visits lie outside
    every window (kept at their exact time; never with ``exact_times``). ``t``: times of
    visits not after ``follow_up + window``; ``status``: recovered at the visit."""
    t = np.asarray(t, float)
    if exact_times:
        return np.where(t > follow_up, follow_up, t), np.zeros(len(t), bool)
    sched = schedule_times(follow_up, interval)
    j = np.clip(np.searchsorted(sched, t), 1, len(sched) - 1)
    lo, hi = sched[j - 1], sched[j]
    nearest = np.where(t - lo < hi - t - _EPS, lo, hi)
    nearest = np.where(t <= sched[0], sched[0], nearest)
    inside = np.abs(t - nearest) <= window + _EPS
    new = np.where(inside, nearest, t)
    # a recovery cannot be at referral: such a visit goes to the first scheduled one
    to_zero = np.asarray(status, bool) & (new == 0) & (t > 0)
    new = np.where(to_zero, sched[1] if len(sched) > 1 else t, new)
    return new, ~inside


def off_text(n: int, window: float, interval: float, unit: str, ids_text: str) -> str:
    """The note on visits outside every window."""
    return (f"{n} visit(s) outside every ±{window:g} {unit} window of the schedule (every "
            f"{interval:g} {unit}) kept at their exact times, of patients {ids_text}")


def moved_text(n: int, window: float, shift: float, unit: str, ids_text: str) -> str:
    """The note on visits moved to their scheduled time."""
    return (f"{n} visit(s) moved to their scheduled time (within ±{window:g} {unit}; "
            f"largest move {shift:.2f} {unit}), of patients {ids_text}")


def late_text(n: int, follow_up: float, window: float, unit: str, ids_text: str,
              hint: str) -> str:
    """The note on visits after the end of follow-up (and its window)."""
    return (f"ignored {n} visit(s) after the end of follow-up ({follow_up:g} "
            f"{unit}s{f' + {window:g}' if window else ''}) of patients {ids_text}{hint}")


def late_hint(near: int, interval: float) -> str:
    """The hint of the late-visit note when ``near`` late visits are within half an
    interval of the end (exact times only)."""
    return (f"; {near} of them within half a visit interval of the end: pass visit_window= "
            f"(e.g. {interval / 2:g}) to count them as the end-of-follow-up visit"
            if near else "")


def merged_text(n: int, ids_text: str, conflict_ids_text: str | None) -> str:
    """The note on visits merged at the same scheduled time."""
    msg = (f"{n} visit(s) merged with another visit of the same patient at the same "
           f"scheduled time, of patients {ids_text}")
    if conflict_ids_text:
        msg += (f"; the merged visits disagree (kept as recovered: recovery is absorbing) "
                f"for patients {conflict_ids_text}")
    return msg


def _drop_late(rec, id_col, follow_up, window, interval, table, unit, notes):
    late = rec["time"] > follow_up + window + _EPS
    if not late.any():
        return rec
    near = (int((late & (rec["time"] <= follow_up + interval / 2)).sum())
            if window == 0 else 0)
    _note(notes, table, late_text(int(late.sum()), follow_up, window, unit,
                                  format_ids(rec.loc[late, id_col]),
                                  late_hint(near, interval)))
    return rec[~late]


def _merge_collisions(rec, id_col, table, unit, notes):
    dup = rec.duplicated([id_col, "time"], keep=False)
    if not dup.any():
        return rec
    groups = rec[dup].groupby([id_col, "time"], sort=False)["status"]
    conflict = groups.nunique() > 1
    merged = int(dup.sum() - groups.ngroups)
    _note(notes, table, merged_text(
        merged, format_ids(rec.loc[dup, id_col]),
        format_ids(conflict.index[conflict].get_level_values(0)) if conflict.any() else None))
    status = rec.groupby([id_col, "time"], sort=False)["status"].transform("any")
    return rec.assign(status=status).drop_duplicates([id_col, "time"])


def _note(notes: list[str], table: str, text: str) -> None:
    notes.append(f"{table}: {text}")
    warnings.warn(f"{table}: {text}", DataWarning, stacklevel=5)
