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
from .covariates import explain_roles, type_covariates
from .errors import DataError, DataWarning, format_ids
from .timescale import DEFAULT_TIME_UNIT, time_unit_name

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
    notes : tuple of str
        What the builder changed on the way in (visits moved to their scheduled time,
        visits ignored, bounds rounded), one line each; also given as warnings.
    roles : DataFrame or None
        When factors and covariates were inferred: each column's role and the reason
        (see :func:`footdrop_bayes.covariates.explain_roles`).
    """

    notes: tuple = ()
    roles: pd.DataFrame | None = None
    #: time-varying columns (:mod:`footdrop_bayes.cohort_tv`): names, per-interval level
    #: codes (patients x grid intervals), levels (reference first) and the lag
    time_varying: tuple = ()
    time_varying_paths: dict = {}  # noqa: RUF012 (replaced, never mutated)
    time_varying_levels: dict = {}  # noqa: RUF012
    lag: int = 0

    def __init__(self, intervals: pd.DataFrame, covariates: pd.DataFrame, *,
                 factors: Sequence[str], numeric: Sequence[str], grid: np.ndarray,
                 follow_up: float, time_unit: str = "month",
                 excluded: pd.DataFrame | None = None, weights: pd.Series | None = None):
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
        #: patients per row of a collapsed cohort (:meth:`collapse`, ``engine="dask"``);
        #: None when every row is one patient
        self.weights = (None if weights is None else
                        pd.Series(np.asarray(weights, float), index=intervals.index,
                                  name="weight"))
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
                    patients_name: str = "patients", origin_col: str | None = None,
                    time_unit: str = DEFAULT_TIME_UNIT, visit_window: float | None = None,
                    visit_interval: float = 1.0, exact_times: bool = False,
                    engine: str = "pandas", scheduler: str | None = None,
                    coarsen: dict | None = None, max_patterns: int | None = None,
                    time_varying: Sequence[str] | None = None, lag: int = 0) -> Cohort:
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
        origin_col : str, optional
            Column of ``patients`` with each patient's time-zero date (e.g. referral)
            when ``time_col`` holds dates; default each patient's first visit.
        time_unit : str
            ``"month"`` (default; 30.4375 days), ``"week"``, ``"day"`` or ``"year"``:
            numbers are taken to be in it, dates are converted to it
            (:mod:`footdrop_bayes.timescale`). Never guessed from a column name.
        visit_window, visit_interval, exact_times
            Visits within ``±visit_window`` of a scheduled time (multiples of
            ``visit_interval``, default 1) count as that visit; default window half the
            interval for dates, 0 (exact) for numbers. ``exact_times=True`` keeps exact
            times and uses the window only at the end of follow-up
            (:mod:`footdrop_bayes.schedule`).
        engine : {"pandas", "dask"}
            ``"dask"`` computes the intervals and the collapsed pattern counts out of core
            with ``dask.dataframe`` (:mod:`footdrop_bayes.cohort_dask`) and returns a
            collapsed cohort (one row per pattern, ``cohort.weights`` patients each; the
            pandas engine's cohort ``.collapse()`` equals it). ``visits`` / ``patients``
            may then also be Dask DataFrames. Both engines accept paths and glob patterns
            of Parquet / CSV files (``"visits/*.parquet"``).
        scheduler : str, optional
            Dask engine: ``None`` the threaded scheduler, ``"local"`` a new
            ``LocalCluster``, or the address of a running cluster (``"tcp://host:8786"``).
        coarsen : dict, optional
            Round numeric covariates to multiples of a step before collapsing, e.g.
            ``{"age": 1, "delay": 0.5}`` (the cohort is then collapsed, with either engine).
        max_patterns : int, optional
            Budget of distinct (covariate pattern, interval) rows of a collapsed cohort
            (default :data:`footdrop_bayes.cohort_dask.MAX_PATTERNS`); past it a
            ``DataError`` names the columns with most distinct values.
        time_varying : sequence of str, optional
            Categorical columns of ``visits`` recorded at every visit (e.g. the current
            treatment). The value recorded at a visit applies from that visit to the next,
            on grid intervals ``(t_visit, t_next]``; the value on ``(0, first visit]`` is
            the ``patients`` column of the same name (or a visit at time 0); a missed
            visit carries the last value forward. A column that never changes while a
            patient is at risk is treated as a baseline factor (with a warning). See
            :mod:`footdrop_bayes.cohort_tv`.
        lag : int
            Whole visits (grid intervals) by which every recorded change is delayed.

        Returns
        -------
        Cohort

        Raises
        ------
        DataError
            On any input that cannot be analysed as given; the message names the table,
            the column and the patients.
        """
        from .cohort_engines import check_engine, dask_from_visits, read_input

        check_engine(engine)
        visits, visits_name = read_input(visits, visits_name, "visits", engine)
        patients, patients_name = read_input(patients, patients_name, "patients", engine)
        if time_varying and (engine == "dask" or coarsen):
            from .errors import DataError

            raise DataError(f"time_varying={list(time_varying)} is read by the pandas engine "
                            "without coarsen= only (the Dask engine and coarsening collapse "
                            "baseline patterns; a time-varying path is not one yet)")
        if engine == "dask":
            return dask_from_visits(
                cls, visits, patients, id_col=id_col, time_col=time_col,
                status_col=status_col, recovered_when=recovered_when, follow_up=follow_up,
                factors=factors, covariates=covariates, reference=reference, dropna=dropna,
                vt=visits_name, pt=patients_name, origin_col=origin_col,
                time_unit=time_unit, visit_window=visit_window,
                visit_interval=visit_interval, scheduler=scheduler, coarsen=coarsen,
                max_patterns=max_patterns, exact_times=exact_times)
        vt, pt = visits_name, patients_name
        v.require_table(visits, vt)
        v.require_table(patients, pt)
        v.require_columns(visits, [id_col, time_col, status_col], vt)
        v.require_columns(patients, [id_col], pt)
        v.require_ids(visits, id_col, vt)
        v.require_ids(patients, id_col, pt)
        v.unique_patients(patients, id_col, pt)
        tv = list(time_varying or [])
        if tv:
            from .cohort_tv import check_visit_columns

            check_visit_columns(visits, tv, id_col, time_col, vt)
        if tv:
            factors = None if factors is None else [f for f in factors if f not in tv]
            covariates = (None if covariates is None
                          else [c for c in covariates if c not in tv])
        factors, covariates, roles = _roles(patients.drop(columns=tv, errors="ignore"),
                                            id_col, factors, covariates, pt)

        from .cohort_visits import visit_intervals

        sink: list = []
        intervals, grid, follow_up, unit, excluded, notes = visit_intervals(
            visits, patients, id_col=id_col, time_col=time_col, status_col=status_col,
            recovered_when=recovered_when, follow_up=follow_up, vt=vt, pt=pt,
            origin_col=origin_col, time_unit=time_unit, visit_window=visit_window,
            visit_interval=visit_interval, exact_times=exact_times, carry=tv, sink=sink)
        cohort = cls._assemble(intervals, patients.set_index(id_col), factors, covariates,
                               reference, dropna, pt, grid, follow_up, unit, excluded)
        cohort.notes, cohort.roles = tuple(notes), roles
        if tv:
            from .cohort_tv import attach_time_varying

            attach_time_varying(cohort, sink[0], patients.set_index(id_col), tv,
                                id_col=id_col, lag=lag, reference=reference, vt=vt, pt=pt)
        if coarsen:
            from .cohort_engines import coarsened

            cohort = coarsened(cohort, coarsen, max_patterns)
        return cohort

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
        data, id_col = _keyed_table(df, id_col, [duration_col, event_col], table)
        factors, covariates, _ = _roles(data.drop(columns=[duration_col, event_col]), id_col,
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
    def from_intervals(cls, df: pd.DataFrame, *, lower_col: str, upper_col: str,
                       id_col: str | None = None, factors: Sequence[str] | None = None,
                       covariates: Sequence[str] | None = None, reference: dict | None = None,
                       follow_up: float | None = None, time_unit: str = DEFAULT_TIME_UNIT,
                       grid: Sequence[float] | None = None, dropna: bool = False,
                       table: str = "data", engine: str = "pandas",
                       scheduler: str | None = None, coarsen: dict | None = None,
                       max_patterns: int | None = None) -> Cohort:
        """Build a cohort from one row per patient with a lower and an upper bound.

        Rows are read as lifelines' ``fit_interval_censoring`` reads them: the event lies
        in ``(lower, upper]``; ``upper`` infinite or missing: right-censored at ``lower``
        (withdrawn if before ``follow_up``, default the largest finite bound); ``lower ==
        0``: before the first look; ``lower == upper``: observed then, counted in the grid
        interval ending there. The grid is every distinct bound, or the breakpoints
        ``grid=`` with bounds rounded outward. ``time_unit`` names the bounds' unit
        (default ``"month"``); ``id_col`` defaults to the row index; other arguments as
        in :meth:`from_visits`. Details: :mod:`footdrop_bayes.cohort_intervals`.

        ``engine="dask"`` builds the collapsed cohort out of core from a Dask DataFrame
        or Parquet / CSV paths and globs (:mod:`footdrop_bayes.cohort_dask_intervals`):
        it equals the pandas engine's cohort ``.collapse()``. ``scheduler``, ``coarsen``
        and ``max_patterns`` as in :meth:`from_visits`.

        Raises
        ------
        DataError
            Non-numeric, negative or missing lower bounds, lower above upper, events at
            time 0; the message names the table, the column and the patients.
        """
        from .cohort_engines import check_engine, read_input
        from .cohort_intervals import interval_parts

        check_engine(engine)
        df, table = read_input(df, table, "data", engine)   # pandas: a path or glob is read
        if engine == "dask":
            from .cohort_dask_intervals import dask_from_intervals

            return dask_from_intervals(
                cls, df, lower_col=lower_col, upper_col=upper_col, id_col=id_col,
                factors=factors, covariates=covariates, reference=reference,
                follow_up=follow_up, time_unit=time_unit, grid=grid, dropna=dropna,
                table=table, scheduler=scheduler, coarsen=coarsen, max_patterns=max_patterns)
        if scheduler is not None:
            raise DataError("scheduler= needs engine='dask'")
        data, id_col = _keyed_table(df, id_col, [lower_col, upper_col], table)
        factors, covariates, roles = _roles(data.drop(columns=[lower_col, upper_col]),
                                            id_col, factors, covariates, table)
        unit = time_unit_name(time_unit)
        intervals, points, follow_up, notes = interval_parts(
            data, data[id_col].to_numpy(), lower_col=lower_col, upper_col=upper_col,
            follow_up=follow_up, grid=grid, table=table, unit=unit)
        cohort = cls._assemble(intervals, data.set_index(id_col), factors, covariates,
                               reference, dropna, table, points, follow_up, unit, [])
        cohort.notes, cohort.roles = tuple(notes), roles
        if coarsen:
            from .cohort_engines import coarsened

            cohort = coarsened(cohort, coarsen, max_patterns)
        return cohort

    def relevel(self, reference: dict) -> Cohort:
        """A cohort with new reference levels, e.g. ``cohort.relevel({"cause": "trauma"})``.

        The named level becomes each factor's first category; the other levels keep
        their order. Patients, intervals and everything else are unchanged.

        Raises
        ------
        DataError
            A column that is not a factor, or a level it does not have.
        """
        cov = self.covariates.copy()
        for col, level in dict(reference).items():
            if col not in self.factors:
                raise DataError(f"relevel: {col!r} is not a factor of the cohort (factors: "
                                f"{', '.join(self.factors) or 'none'})")
            cats = list(cov[col].cat.categories)
            match = [c for c in cats if c == level or str(c) == str(level)]
            if not match:
                raise DataError(f"relevel: {level!r} is not a level of {col!r}; its levels "
                                f"are {', '.join(map(str, cats))}")
            cov[col] = cov[col].cat.reorder_categories(
                match + [c for c in cats if c != match[0]])
        return self._like(self.intervals, cov, self.factors, self.numeric)

    def _like(self, intervals, covariates, factors, numeric) -> Cohort:
        out = Cohort(intervals, covariates, factors=factors, numeric=numeric, grid=self.grid,
                     follow_up=self.follow_up, time_unit=self.time_unit,
                     excluded=self.excluded, weights=self.weights)
        out.notes, out.roles = self.notes, self.roles
        if self.time_varying:
            from .cohort_tv import copy_time_varying

            copy_time_varying(self, out)
        return out

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
        if self.weights is not None:
            return int(np.rint(self.weights.sum()))
        return len(self.intervals)

    @property
    def is_collapsed(self) -> bool:
        """True for a collapsed cohort: one row per pattern, ``weights`` patients each."""
        return self.weights is not None

    def collapse(self) -> Cohort:
        """The cohort as distinct (covariate pattern, interval) rows with patient counts.

        Rows are indexed by ``pattern`` in canonical order (see
        :mod:`footdrop_bayes.cohort_patterns`); ``weights`` holds the patients of each.
        ``last_visit`` of censored rows is ``last_unrecovered``; ``n_visits`` is NaN.
        """
        from .cohort_patterns import collapse_rows

        iv, cov, w = collapse_rows(self.covariates, self.intervals, self.weights)
        out = self._like(iv, cov, self.factors, self.numeric)
        out.weights = w
        return out

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
        out = out.join(self.covariates[cols])
        if self.weights is not None:   # a collapsed cohort: lifelines' weights_col
            out["weight"] = self.weights
        return out

    def person_period(self) -> pd.DataFrame:
        """One row per patient per grid interval at risk (the person-period format).

        Rows ``(start, stop]`` on the grid up to the last unrecovered visit carry
        ``event = 0``; a recovered patient then has one row ``(last_unrecovered,
        first_recovered]`` with ``event = 1`` (it spans several grid intervals when visits
        were missed). Covariates are joined on.
        """
        if self.weights is not None:
            raise DataError("person_period() needs one row per patient; this cohort is "
                            "collapsed (cohort.weights patients per row)")
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
        pp = pp.join(self.covariates, on="patient")
        if self.time_varying:
            from .cohort_tv import person_period_values

            pp = person_period_values(pp, self)
        return pp

    def to_lifelines_long(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """lifelines' long ``(start, stop]`` format with the time-varying columns.

        For ``CoxTimeVaryingFitter`` (``id_col="patient"``, ``start_col="start"``,
        ``stop_col="stop"``, ``event_col="event"``); see
        :func:`footdrop_bayes.cohort_tv.long_format`.
        """
        from .cohort_tv import long_format

        return long_format(self, columns)

    def time_varying_path_table(self, *, until: str = "last_visit") -> pd.DataFrame:
        """Each patient's time-varying values as runs ``(start, stop]`` (one row a run).

        See :func:`footdrop_bayes.cohort_tv.path_table`.
        """
        from .cohort_tv import path_table

        return path_table(self, until=until)

    def counts(self) -> pd.Series:
        """Counts of patients, recoveries, withdrawn, administratively censored, excluded."""
        iv = self.intervals
        w = np.ones(len(iv)) if self.weights is None else self.weights.to_numpy(float)
        return pd.Series({
            "patients": self.n_patients,
            "recovered": int(np.rint(w[iv["event"].to_numpy(bool)].sum())),
            "withdrawn": int(np.rint(w[iv["withdrawn"].to_numpy(bool)].sum())),
            "admin_censored": int(np.rint(w[iv["admin_censored"].to_numpy(bool)].sum())),
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
        A collapsed cohort gives the same table from its counts.
        """
        if self.weights is not None:
            from .cohort_patterns import weighted_table1

            return weighted_table1(self)
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
        lines += [f"note: {n}" for n in self.notes]
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
        return self._like(self.intervals, self.covariates[columns],
                          [f for f in self.factors if f in columns],
                          [c for c in self.numeric if c in columns])


def _keyed_table(df, id_col, columns, table):
    """Check the table and its id column (default: the row index, as ``_row``)."""
    v.require_table(df, table)
    v.require_columns(df, list(columns) + ([id_col] if id_col else []), table)
    data = df.copy()
    if id_col is None:
        id_col = "_row"
        data[id_col] = data.index
    v.require_ids(data, id_col, table)
    v.unique_patients(data, id_col, table)
    return data, id_col


def _roles(patients, id_col, factors, covariates, table):
    """Factors and covariates as given, or inferred with the reasons (else None)."""
    roles = None
    if factors is None and covariates is None:
        roles = explain_roles(patients, exclude=[id_col])
        factors = roles.index[roles["role"] == "factor"].tolist()
        covariates = roles.index[roles["role"] == "numeric"].tolist()
    factors, covariates = list(factors or []), list(covariates or [])
    v.require_columns(patients, factors + covariates, table)
    return factors, covariates, roles


def _intervals(rec: pd.DataFrame, id_col: str, follow_up: float, table: str,
               complete_from: float | None = None) -> pd.DataFrame:
    """Per patient: (last_unrecovered, first_recovered], event, withdrawn, censoring.

    A patient last seen unrecovered at or after ``complete_from`` (default
    ``follow_up``) completed follow-up (administratively censored), else withdrew.
    """
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
    end = follow_up if complete_from is None else complete_from
    out["withdrawn"] = ~out["event"] & (out["last_visit"] < end - 1e-9)
    out["admin_censored"] = ~out["event"] & ~out["withdrawn"]
    out["n_visits"] = g.size().reindex(ids).to_numpy()
    return out[INTERVAL_COLUMNS]
