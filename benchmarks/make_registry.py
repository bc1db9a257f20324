"""Write a simulated registry as Parquet files: visits dealt over several files.

    python benchmarks/make_registry.py --patients 2000000 --files 8 --out /tmp/registry

Patients are simulated in chunks (``simulate_cohort``, known truth, monthly visits for 6
months, categorical covariates sex, site, lesion_type, cause, treatment; age and delay are
written too but the benchmark leaves them out). Each chunk's visit rows are shuffled and
dealt at random over ``--files`` Parquet files, so a patient's visits are spread across
files, as in a registry exported by period or by site. Writes ``visits/part*.parquet``
and ``patients.parquet``; prints rows and seconds.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import footdrop_bayes as fb


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=2_000_000)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--chunk", type=int, default=250_000)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    out = Path(args.out)
    (out / "visits").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    writers, pwriter, n_rows, done = {}, None, 0, 0
    k = 0
    while done < args.patients:
        n = min(args.chunk, args.patients - done)
        sim = fb.simulate_cohort(n, random_seed=args.seed * 1000 + k)
        prefix = f"R{k:03d}-"
        visits = sim.visits.assign(patient_id=prefix + sim.visits["patient_id"],
                                   month=sim.visits["month"].astype(float))
        patients = sim.patients.assign(patient_id=prefix + sim.patients["patient_id"])
        visits = visits.iloc[rng.permutation(len(visits))].reset_index(drop=True)
        part = rng.integers(0, args.files, len(visits))
        for f in range(args.files):
            table = pa.Table.from_pandas(visits[part == f], preserve_index=False)
            if f not in writers:
                writers[f] = pq.ParquetWriter(out / "visits" / f"part{f}.parquet",
                                              table.schema)
            writers[f].write_table(table)
        ptable = pa.Table.from_pandas(patients, preserve_index=False)
        if pwriter is None:
            pwriter = pq.ParquetWriter(out / "patients.parquet", ptable.schema)
        pwriter.write_table(ptable)
        n_rows += len(visits)
        done += n
        k += 1
        print(f"{done:,} patients, {n_rows:,} visit rows, {time.perf_counter() - start:.0f} s",
              flush=True)
    for w in writers.values():
        w.close()
    pwriter.close()


if __name__ == "__main__":
    main()
