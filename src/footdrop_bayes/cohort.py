"""A cohort: patients, their recovery intervals and their typed baseline characteristics.

For each patient with visits at times t_1 < t_2 < ... the recovery time lies in
``(last_unrecovered, first_recovered]``: the last visit without recovery (0 at referral)
and the first visit with it. A patient never seen recovered is right-censored at the last
visit: *withdrawn* when that visit is before the planned end of follow-up, otherwise
*administratively censored*. Withdrawn patients are kept, never dropped.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from . import validation as v
from .covariates import infer_roles, type_covariates
from .errors import DataError, DataWarning, format_ids

INTERVAL_COLUMNS = ["last_unrecovered", "first_recovered", "event", "withdrawn",
                    "admin_censored", "last_visit", "n_visits"]


class Cohort:
    """Patients with recovery intervals on a time grid, and their covariates.

    Build one with :meth:`from_visits` (monthly visit records) or :meth:`from_durations`
    (ordinary right-censored data on an integer time grid); the constructor takes
    already-validated parts.

    Attributes
    ----------
    intervals : DataFrame
        Indexed by patient id (index name ``"patient"``) with columns
        ``last_unrecovered``, ``first_recovered`` (NaN if never), ``event``, ``withdrawn``,
        ``admin_censored``, ``last_visit`` and ``n_visits``.
    covariates : DataFrame
        Same index; factors as pandas ``Categorical`` (reference level first), numeric
        covariates as floats.
    factors, numeric : tuple of str
        Names of the categorical factors and of the numeric covariates.
    grid : ndarray
        Sorted time points, starting at 0, on which every interval end lies.
    follow_up : float
        Planned end of follow-up.
    time_unit : str
        Name of the time unit (``"month"``), used for dims and labels.
    excluded : DataFrame
        Patients left out of the analysis, with the reason (``patient``, ``reason``).
    """

    def __init__(self, intervals: pd.DataFrame, covariates: pd.DataFrame, *,
                 factors: Sequence[str], numeric: Sequence[str], grid: np.ndarray,
                 follow_up: float, time_unit: str = "month",
                 excluded: pd.DataFrame | None = None):
        if not intervals.index.equals(covariates.index):
            raise ValueError("intervals and covariates must share the patient index")
        self.intervals = intervals
        self.covariates = covariates
        self.factors = tuple(factors)
        self.numeric = tuple(numeric)
        self.grid = np.asarray(grid, dtype=float)
        self.follow_up = float(follow_up)
        self.time_unit = time_unit
        self.excluded = (excluded if excluded is not None
                         else pd.DataFrame({"patient": [], "reason": []}))
        if not self.intervals["event"].any():
            raise DataError("no recoveries (events) among the patients analysed: recovery "
                            "cannot be modelled without any")

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_visits(cls, visits: pd.DataFrame, patients: pd.DataFrame, *,
                    id_col: str = "patient_id", time_col: str = "month",
                    status_col: str = "recovered",
                    recovered_when: str | Callable | None = None,
                    follow_up: float | None = None, factors: Sequence[str] | None = None,
                    covariates: Sequence[str] | None = None, reference: dict | None = None,
                    dropna: bool = False, visits_name: str = "visits",
                    patients_name: str = "patients") -> Cohort:
        """Build a cohort from visit records and a table of patients.

        Parameters
        ----------
        visits : DataFrame
            One row per patient per visit: ``id_col``, ``time_col`` (time since referral),
            ``status_col`` (recovered yet: booleans / 0-1, or a grade with
            ``recovered_when``). Rows may come in any order.
        patients : DataFrame
            One row per patient: ``id_col`` and baseline characteristics.
        recovered_when : str or callable, optional
            Rule turning a grade into recovery, e.g. ``">=4"`` for MRC strength, or a
            function of the status Series returning booleans.
        follow_up : float, optional
            Planned end of follow-up; default the last visit time in the data. Visits after
            it are ignored, with a warning.
        factors, covariates : sequence of str, optional
            Columns of ``patients`` to use as categorical factors and numeric covariates.
            If both are None they are inferred from the column types; if only one is
            given, the other is empty.
        reference : dict, optional
            Reference level per factor (see :mod:`footdrop_bayes.covariates`).
        dropna : bool
            Exclude patients with missing covariates (reported) instead of raising.
        visits_name, patients_name : str
            Names of the tables in messages (e.g. their file names).

        Returns
        -------
        Cohort

        Raises
        ------
        DataError
            On any input that cannot be analysed as given; the message names the table,
            the column and the patients.
        """
        vt, pt = visits_name, patients_name
        v.require_table(visits, vt)
        v.require_table(patients, pt)
        v.require_columns(visits, [id_col, time_col, status_col], vt)
        v.require_columns(patients, [id_col], pt)
        v.require_ids(visits, id_col, vt)
        v.require_ids(patients, id_col, pt)
        v.unique_patients(patients, id_col, pt)
        factors, covariates = _roles(patients, id_col, factors, covariates, pt)

        rec = pd.DataFrame({
            id_col: visits[id_col].to_numpy(),
            "time": v.numeric_times(visits, time_col, id_col, vt).to_numpy(),
            "status": v.recovery_status(visits, status_col, id_col, vt,
                                        recovered_when).to_numpy(),
        })
        rec = v.deduplicate_visits(rec, id_col, vt)
        at_zero = rec["status"] & (rec["time"] == 0)
        if at_zero.any():
            raise DataError(f"{vt}: column {status_col!r} records recovery at time 0 (every "
                            "patient has foot drop at referral) for patients "
                            f"{format_ids(rec.loc[at_zero, id_col])}")
        unknown = ~rec[id_col].isin(patients[id_col])
        if unknown.any():
            raise DataError(f"{vt}: column {id_col!r} has patients that are not in {pt}: "
                            f"{format_ids(rec.loc[unknown, id_col])}")
        if follow_up is None:
            follow_up = float(rec["time"].max())
        elif not np.isfinite(follow_up) or follow_up <= 0:
            raise DataError(f"follow_up must be a positive time, got {follow_up!r}")
        late = rec["time"] > follow_up
        if late.any():
            warnings.warn(f"{vt}: ignored {int(late.sum())} visit(s) after the end of follow-up "
                          f"({follow_up:g}) of patients {format_ids(rec.loc[late, id_col])}",
                          DataWarning, stacklevel=2)
            rec = rec[~late]

        excluded = []
        no_visits = ~patients[id_col].isin(rec[id_col])
        if no_visits.any():
            ids = patients.loc[no_visits, id_col]
            warnings.warn(f"{pt}: excluded patients with no visits (within follow-up) in {vt}: "
                          f"{format_ids(ids)}", DataWarning, stacklevel=2)
            excluded += [(i, f"no visits in {vt}") for i in ids]
        intervals = _intervals(rec, id_col, follow_up, vt)
        only_referral = intervals.index[intervals["withdrawn"]
                                        & (intervals["last_visit"] == 0)]
        if len(only_referral):
            warnings.warn(f"{vt}: patients seen only at referral (time 0) are kept as withdrawn "
                          "and censored at 0, but carry no information on recovery: "
                          f"{format_ids(only_referral)}", DataWarning, stacklevel=2)
        grid = np.union1d([0.0], rec["time"].unique())
        return cls._assemble(intervals, patients.set_index(id_col), factors, covariates,
                             reference, dropna, pt, grid, follow_up, time_col, excluded)

    @classmethod
    def from_durations(cls, df: pd.DataFrame, *, duration_col: str, event_col: str,
                       id_col: str | None = None, factors: Sequence[str] | None = None,
                       covariates: Sequence[str] | None = None,
                       reference: dict | None = None, dropna: bool = False,
                       time_unit: str = "time", table: str = "data") -> Cohort:
        """Build a cohort from right-censored durations on an integer time grid.

        An event at integer time ``t`` is taken to lie in ``(t - 1, t]``; a censored
        patient is known event-free up to ``t``. This is the grouped-time view of data
        recorded to whole time units (days, weeks, months).

        Parameters
        ----------
        df : DataFrame
            One row per subject.
        duration_col, event_col : str
            Follow-up time (whole units, >= 1 for events) and event indicator (bool / 0-1).
        id_col : str, optional
            Subject id column; default the row index.
        factors, covariates, reference, dropna
            As in :meth:`from_visits`.
        time_unit : str
            Name of the time unit.
        table : str
            Name of the table in messages.
        """
        v.require_table(df, table)
        need = [duration_col, event_col] + ([id_col] if id_col else [])
        v.require_columns(df, need, table)
        data = df.copy()
        if id_col is None:
            id_col = "_row"
            data[id_col] = data.index
        v.require_ids(data, id_col, table)
        v.unique_patients(data, id_col, table)
        factors, covariates = _roles(data.drop(columns=[duration_col, event_col]), id_col,
                                     factors, covariates, table)
        t = v.numeric_times(data, duration_col, id_col, table, integer=True).to_numpy()
        event = v.recovery_status(data, event_col, id_col, table, None).to_numpy()
        zero = event & (t == 0)
        if zero.any():
            raise DataError(f"{table}: column {duration_col!r} has events at time 0 for "
                            f"subjects {format_ids(data.loc[zero, id_col])}; an event must "
                            "come after the start of follow-up")
        follow_up = float(t.max())
        intervals = pd.DataFrame({
            "last_unrecovered": np.where(event, t - 1, t),
            "first_recovered": np.where(event, t, np.nan),
            "event": event,
            "withdrawn": ~event & (t < follow_up),
            "admin_censored": ~event & (t >= follow_up),
            "last_visit": t,
            "n_visits": np.nan,
        }, index=pd.Index(data[id_col].to_numpy(), name="patient"))
        grid = np.arange(0.0, follow_up + 1)
        return cls._assemble(intervals, data.set_index(id_col), factors, covariates, reference,
                             dropna, table, grid, follow_up, time_unit, [])

    @classmethod
    def _assemble(cls, intervals, patients, factors, covariates, reference, dropna, table,
                  grid, follow_up, time_unit, excluded) -> Cohort:
        cov, dropped = type_covariates(patients.loc[intervals.index], factors, covariates,
                                       table=table, reference=reference, dropna=dropna)
        cov.index.name = "patient"
        excluded += [(i, "missing covariate values") for i in dropped]
        intervals = intervals.loc[cov.index]
        return cls(intervals, cov, factors=factors, numeric=covariates, grid=grid,
                   follow_up=follow_up, time_unit=time_unit,
                   excluded=pd.DataFrame(excluded, columns=["patient", "reason"]))

    # ------------------------------------------------------------------ views
    @property
    def n_patients(self) -> int:
        """Number of patients analysed."""
        return len(self.intervals)

    @property
    def patient_ids(self) -> pd.Index:
        """Patient ids, in the cohort's order."""
        return self.intervals.index

    @property
    def duration(self) -> pd.Series:
        """Time of the observed recovery (first recovered visit) or of censoring."""
        iv = self.intervals
        return iv["first_recovered"].where(iv["event"], iv["last_unrecovered"])

    def to_lifelines(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Return the lifelines duration format: ``duration``, ``event`` and covariates.

        Recovery times are the first recovered visits; censoring times the last
        unrecovered visits. Factors keep their categorical type (reference level first).
        """
        cols = list(self.factors + self.numeric) if columns is None else list(columns)
        out = pd.DataFrame({"duration": self.duration, "event": self.intervals["event"]})
        return out.join(self.covariates[cols])

    def person_period(self) -> pd.DataFrame:
        """One row per patient per grid interval at risk (the person-period format).

        Rows ``(start, stop]`` on the grid up to the last unrecovered visit carry
        ``event = 0``; a recovered patient then has one row ``(last_unrecovered,
        first_recovered]`` with ``event = 1`` (it spans several grid intervals when visits
        were missed). Covariates are joined on.
        """
        grid = self.grid
        rows = []
        for pid, L, R, ev in zip(self.patient_ids, self.intervals["last_unrecovered"],
                                 self.intervals["first_recovered"], self.intervals["event"],
                                 strict=True):
            k = int(np.searchsorted(grid, L))
            rows += [(pid, grid[j - 1], grid[j], 0) for j in range(1, k + 1)]
            if ev:
                rows.append((pid, L, R, 1))
        pp = pd.DataFrame(rows, columns=["patient", "start", "stop", "event"])
        return pp.join(self.covariates, on="patient")

    def counts(self) -> pd.Series:
        """Counts of patients, recoveries, withdrawn, administratively censored, excluded."""
        iv = self.intervals
        return pd.Series({
            "patients": self.n_patients,
            "recovered": int(iv["event"].sum()),
            "withdrawn": int(iv["withdrawn"].sum()),
            "admin_censored": int(iv["admin_censored"].sum()),
            "excluded": len(self.excluded),
        }, name="count")

    def outcome(self) -> pd.Series:
        """Each patient's outcome: ``recovered``, ``not recovered`` or ``withdrawn``."""
        iv = self.intervals
        out = np.where(iv["event"], "recovered",
                       np.where(iv["withdrawn"], "withdrawn", "not recovered"))
        cats = ["recovered", "not recovered", "withdrawn"]
        return pd.Series(pd.Categorical(out, categories=cats), index=iv.index, name="outcome")

    def table1(self) -> pd.DataFrame:
        """A "Table 1": characteristics of the patients by outcome.

        Factors as ``n (%)`` per level (percent of the column's patients); numeric
        covariates as ``mean ± SD`` and ``median [IQR]``. Columns: ``all`` and each outcome.
        """
        outcome = self.outcome()
        groups = [("all", np.ones(self.n_patients, bool))] + [
            (str(o), (outcome == o).to_numpy()) for o in outcome.cat.categories]
        rows = {("patients", ""): [f"{m.sum()}" for _, m in groups]}
        for col in self.factors:
            s = self.covariates[col]
            for lv in s.cat.categories:
                rows[(col, str(lv))] = [
                    f"{(s[m] == lv).sum()} ({100 * (s[m] == lv).mean():.1f}%)" if m.any()
                    else "0" for _, m in groups]
        for col in self.numeric:
            s = self.covariates[col]
            rows[(col, "mean ± SD")] = [
                f"{s[m].mean():.1f} ± {s[m].std():.1f}" if m.sum() > 1 else "–"
                for _, m in groups]
            rows[(col, "median [IQR]")] = [
                f"{s[m].median():.1f} [{s[m].quantile(.25):.1f}, {s[m].quantile(.75):.1f}]"
                if m.any() else "–" for _, m in groups]
        out = pd.DataFrame.from_dict(rows, orient="index", columns=[g for g, _ in groups])
        out.index = pd.MultiIndex.from_tuples(out.index, names=["characteristic", "level"])
        return out

    def describe(self) -> str:
        """A plain-text summary: counts, follow-up, grid, factors and Table 1."""
        c = self.counts()
        lines = [
            f"{c['patients']} patients: {c['recovered']} recovered, {c['withdrawn']} withdrawn "
            f"(censored at their last visit), {c['admin_censored']} not recovered by the end "
            f"of follow-up ({self.follow_up:g} {self.time_unit}s)",
        ]
        if c["excluded"]:
            reasons = self.excluded.groupby("reason")["patient"].apply(format_ids)
            lines += [f"excluded: {r}: {ids}" for r, ids in reasons.items()]
        for f in self.factors:
            cats = self.covariates[f].cat.categories
            lines.append(f"factor {f}: {len(cats)} levels, reference {cats[0]!r}")
        if self.numeric:
            lines.append(f"numeric covariates: {', '.join(self.numeric)}")
        lines += ["", self.table1().to_string()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        c = self.counts()
        return (f"Cohort({c['patients']} patients, {c['recovered']} recovered, "
                f"{c['withdrawn']} withdrawn; factors={list(self.factors)}, "
                f"numeric={list(self.numeric)})")

    def subset(self, columns: Sequence[str]) -> Cohort:
        """A cohort with the same patients and only the named covariate columns."""
        columns = list(columns)
        unknown = [c for c in columns if c not in self.covariates.columns]
        if unknown:
            raise DataError(f"unknown covariate column(s) {unknown}; the cohort has "
                            f"{list(self.covariates.columns)}")
        return Cohort(self.intervals, self.covariates[columns],
                      factors=[f for f in self.factors if f in columns],
                      numeric=[c for c in self.numeric if c in columns], grid=self.grid,
                      follow_up=self.follow_up, time_unit=self.time_unit,
                      excluded=self.excluded)


def _roles(patients, id_col, factors, covariates, table):
    if factors is None and covariates is None:
        factors, covariates = infer_roles(patients, exclude=[id_col])
    factors, covariates = list(factors or []), list(covariates or [])
    v.require_columns(patients, factors + covariates, table)
    return factors, covariates


def _intervals(rec: pd.DataFrame, id_col: str, follow_up: float, table: str) -> pd.DataFrame:
    """Per patient: (last_unrecovered, first_recovered], event, withdrawn, censoring."""
    rec = rec.sort_values([id_col, "time"], kind="stable")
    g = rec.groupby(id_col, sort=False)
    first_rec = rec[rec["status"]].groupby(id_col, sort=False)["time"].min()
    t_first = rec[id_col].map(first_rec)
    before = rec["time"] < t_first.fillna(np.inf)
    last_unrec = rec[before & ~rec["status"]].groupby(id_col, sort=False)["time"].max()
    relapse = (~rec["status"]) & (rec["time"] > t_first)
    if relapse.any():
        warnings.warn(f"{table}: patients recorded as not recovered after a recovery (the "
                      f"first recovery is kept): {format_ids(rec.loc[relapse, id_col])}",
                      DataWarning, stacklevel=3)
    ids = pd.Index(g.size().index, name="patient")
    out = pd.DataFrame(index=ids)
    out["last_unrecovered"] = last_unrec.reindex(ids).fillna(0.0).to_numpy()
    out["first_recovered"] = first_rec.reindex(ids).to_numpy()
    out["event"] = out["first_recovered"].notna()
    out["last_visit"] = g["time"].max().reindex(ids).to_numpy()
    out["withdrawn"] = ~out["event"] & (out["last_visit"] < follow_up)
    out["admin_censored"] = ~out["event"] & ~out["withdrawn"]
    out["n_visits"] = g.size().reindex(ids).to_numpy()
    return out[INTERVAL_COLUMNS]
