"""Cohort building from interval tables and dated visits: wall time by size.

Prints, for interval tables with many distinct bounds (exact grid and a 50-breakpoint
``grid=``) and for dated visit tables (monthly visits +/- a few days, visit windows), the
time of ``Cohort.from_intervals`` / ``Cohort.from_visits``, the number of grid
intervals and of likelihood terms after collapsing. Asserts nothing; results go in
docs/performance.md by hand.

    python benchmarks/bench_cohort_input.py [--sizes 1000 10000 100000]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

import footdrop_bayes as fb
from footdrop_bayes.model.likelihood import prepare


def interval_table(n: int, rng) -> pd.DataFrame:
    true = rng.weibull(1.5, n) * 20
    lower = np.maximum(true - rng.uniform(0, 6, n), 0).round(2)
    upper = (true + rng.uniform(0, 6, n)).round(2)
    cens = true > 36
    upper[cens], lower[cens] = np.inf, np.minimum(lower[cens], 36)
    return pd.DataFrame({"lower": lower, "upper": upper, "arm": rng.choice(["a", "b"], n),
                         "site": rng.choice(list("pqrs"), n)})


def dated_visits(n: int, rng) -> tuple[pd.DataFrame, pd.DataFrame]:
    ids = np.arange(n)
    referral = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, n), "D")
    recovery = rng.exponential(5, n)
    rows = np.repeat(ids, 7)
    month = np.tile(np.arange(7), n)
    days = np.round(month * 30.4375) + np.where(month > 0, rng.integers(-7, 8, 7 * n), 0)
    visits = pd.DataFrame({"patient_id": rows,
                           "visit_date": referral[rows] + pd.to_timedelta(days, "D"),
                           "recovered": month >= recovery[rows]})
    patients = pd.DataFrame({"patient_id": ids, "referral": referral,
                             "arm": rng.choice(["a", "b"], n)})
    return visits, patients


def timed(f):
    t0 = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    print("input      patients  grid      seconds  grid intervals  likelihood terms")
    for n in args.sizes:
        df = interval_table(n, rng)
        for label, grid in (("exact", None), ("50 bps", np.linspace(0, 42, 51))):
            c, s = timed(lambda df=df, grid=grid: fb.Cohort.from_intervals(
                df, lower_col="lower", upper_col="upper", grid=grid))
            terms = len(prepare(c, ["arm", "site"], []).patterns["weight"])
            print(f"intervals  {n:8d}  {label:8s} {s:8.2f}  {len(c.grid) - 1:14d}  {terms:16d}")
        visits, patients = dated_visits(n, rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fb.DataWarning)
            c, s = timed(lambda v=visits, p=patients: fb.Cohort.from_visits(
                v, p, time_col="visit_date", origin_col="referral", follow_up=6,
                factors=["arm"], covariates=[]))
        terms = len(prepare(c, ["arm"], []).patterns["weight"])
        print(f"dates      {n:8d}  window   {s:8.2f}  {len(c.grid) - 1:14d}  {terms:16d}")


if __name__ == "__main__":
    main()
