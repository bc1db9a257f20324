"""The whole command line on a Parquet registry with the Dask engine: time and memory.

    python benchmarks/make_registry.py --patients 2000000 --out /tmp/registry
    nice -n 10 python benchmarks/bench_registry.py --registry /tmp/registry --out /tmp/fit

Runs ``footdrop-bayes fit --visits 'REGISTRY/visits/*.parquet' --patients
REGISTRY/patients.parquet --engine dask`` (categorical factors, default MCMC settings
unless ``--draws/--tune/--chains`` are given) in a fresh process and samples, every 0.25 s,
the resident memory of that process and all of its children together (driver, and the
scheduler and workers of a ``--scheduler local`` cluster). Prints wall time, peak total
RSS, the CLI's own stage lines, and the output-folder check; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

FACTORS = "sex,site,lesion_type,cause,treatment"


def tree_rss(proc: psutil.Process) -> int:
    """Resident bytes of ``proc`` and all its descendants."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--registry", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--scheduler", default=None)
    ap.add_argument("--draws", type=int, default=None)
    ap.add_argument("--tune", type=int, default=None)
    ap.add_argument("--chains", type=int, default=None)
    args = ap.parse_args(argv)
    reg = Path(args.registry)
    cmd = [sys.executable, "-m", "footdrop_bayes.cli", "fit",
           "--visits", str(reg / "visits" / "*.parquet"),
           "--patients", str(reg / "patients.parquet"), "--engine", "dask",
           "--factors", FACTORS, "--covariates", "", "--follow-up", "6",
           "--out", args.out, "--overwrite"]
    if args.scheduler:
        cmd += ["--scheduler", args.scheduler]
    for opt in ("draws", "tune", "chains"):
        if getattr(args, opt):
            cmd += [f"--{opt}", str(getattr(args, opt))]
    peak = [0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ps = psutil.Process(proc.pid)

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss(ps))
            time.sleep(0.25)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    lines = []
    for line in proc.stdout:
        lines.append(line.rstrip())
        print(f"[{time.perf_counter() - start:7.1f} s] {line.rstrip()}", flush=True)
    proc.wait()
    t.join()
    wall = time.perf_counter() - start
    check = subprocess.run(["/work/wt/shared/tools/check-output-folder", args.out],
                           capture_output=True, text=True)
    print(json.dumps({"command": " ".join(cmd), "exit": proc.returncode,
                      "wall_s": round(wall, 1), "peak_rss_gb_all_processes":
                      round(peak[0] / 1e9, 2), "output_check_exit": check.returncode,
                      "load_average": psutil.getloadavg()}, indent=1))


if __name__ == "__main__":
    main()
