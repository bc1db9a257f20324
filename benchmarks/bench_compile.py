"""Compile time of the bundled cohort's model, each way, in fresh processes (wall seconds).

Run:  python benchmarks/bench_compile.py [--repeats 2]

Each measurement is a new Python process that builds the demo model and compiles it once:

``nutpie``
    ``nutpie.compile_pymc_model(model, backend="numba", var_names=[])``: nutpie's own
    wrapper, compiled again in every process.
``wrapper``
    :func:`footdrop_bayes.model.cached_wrapper.compile_numba` without a key: pytensor's
    graph rewriting runs, both wrappers load from numba's disk cache.
``manifest``
    The same with the structure's key, as ``RecoveryModel.fit`` calls it: the manifest
    replaces the rewriting as well.

The first ``wrapper`` / ``manifest`` run of a structure new to the machine compiles and
stores (printed as such); the repeats show what every later process pays. Peak memory
(``ru_maxrss``) is printed beside each time. Timings are not tests: record them in
docs/performance.md with the machine, commit and load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time, warnings
warnings.filterwarnings("ignore")
from footdrop_bayes.datasets import load_study_cohort
from footdrop_bayes.model.recovery_model import RecoveryModel
from footdrop_bayes.model import cached_wrapper, compile_cache
rm = RecoveryModel(load_study_cohort(), sampler_config={"nutpie_backend": "numba"})
how = sys.argv[1]
t = time.perf_counter()
if how == "nutpie":
    import nutpie
    nutpie.compile_pymc_model(rm.model, backend="numba", var_names=[])
    state = "compiled"
else:
    key = None
    if how == "manifest":
        key = repr(compile_cache.structure_key(
            rm.data, rm.model_config, rm.model.parameterization, "numba",
            getattr(rm.model, "level_split", None)))
    cached_wrapper.compile_numba(rm.model, var_names=[], disk_key=key)
    state = dict(cached_wrapper.LAST)
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps({"how": how, "seconds": round(seconds, 2), "peak_gb": round(peak, 2),
                  "state": state}))
"""


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(json.dumps({"commit": commit, "load": os.getloadavg()[0]}))
    for how in ("nutpie", "wrapper", "manifest"):
        for _ in range(args.repeats):
            out = subprocess.run([sys.executable, "-c", CHILD, how], capture_output=True,
                                 text=True, check=True)
            print(out.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
