"""Wall time and peak memory of ``footdrop-bayes fit`` on a large categorical-only cohort.

Simulates a cohort with :func:`footdrop_bayes.simulate_cohort` (clinics on), bands the
numeric covariates (age, delay) into factors so every covariate is categorical, writes the
visits and patients tables, then runs the whole CLI ``fit`` in a child process with the
default sampler settings and reports its wall time and peak resident memory
(``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``), plus the per-stage times from the
CLI's progress messages.

    PYTHONPATH=src nice -n 10 python benchmarks/post_memory.py --patients 200000

Not a test: numbers go to ``docs/performance.md`` by hand, with machine and commit.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

AGE_BANDS = ([40, 60], ["<40", "40-59", ">=60"])
DELAY_BANDS = ([1, 3], ["<=1", "1-3", ">3"])


def make_tables(n: int, clinics: int, seed: int, folder: Path) -> tuple[Path, Path]:
    """Write a categorical-only simulated cohort (visits.csv, patients.csv) to ``folder``."""
    from footdrop_bayes import simulate_cohort

    visits, patients, _ = simulate_cohort(n, n_clinics=clinics, random_seed=seed)
    patients = patients.copy()
    for col, (cuts, labels) in (("age", AGE_BANDS), ("delay", DELAY_BANDS)):
        edges = np.concatenate([[-np.inf], cuts, [np.inf]])
        patients[f"{col}_band"] = pd.cut(patients[col], edges, labels=labels,
                                         right=False).astype(str)
        patients = patients.drop(columns=col)
    v, p = folder / "visits.csv", folder / "patients.csv"
    visits.to_csv(v, index=False)
    patients.to_csv(p, index=False)
    return v, p


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=200_000)
    ap.add_argument("--clinics", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", default=None, help="where tables and output go")
    ap.add_argument("--reuse", action="store_true", help="reuse tables in --workdir")
    ap.add_argument("--extra", default="", help="extra CLI arguments, e.g. '--draws 200'")
    args = ap.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="fdb_post_"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    v, p = work / "visits.csv", work / "patients.csv"
    if not (args.reuse and v.exists() and p.exists()):
        v, p = make_tables(args.patients, args.clinics, args.seed, work)
    print(f"tables: {args.patients} patients in {time.perf_counter() - t0:.1f} s ({work})")
    patients = pd.read_csv(p, nrows=1)
    factors = [c for c in patients.columns if c not in ("patient_id", "clinic")]
    cmd = [sys.executable, "-m", "footdrop_bayes.cli", "fit", "--visits", str(v),
           "--patients", str(p), "--factors", ",".join(factors), "--group", "clinic",
           "--out", str(work / "out"), "--overwrite", *args.extra.split()]
    env = dict(os.environ)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    last = t0
    for line in proc.stdout:
        now = time.perf_counter()
        print(f"[{now - t0:7.1f} s, +{now - last:6.1f}] {line.rstrip()}", flush=True)
        last = now
    rc = proc.wait()
    wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_gb = usage.ru_maxrss / 1024 ** 2
    cpu = usage.ru_utime + usage.ru_stime
    size = (work / "out" / "posterior.nc").stat().st_size / 1e6 if rc == 0 else float("nan")
    print(f"exit {rc}; wall {wall:.1f} s; CPU {cpu:.1f} s; peak RSS {peak_gb:.2f} GB; posterior.nc "
          f"{size:.1f} MB; factors {factors} + clinic")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
