"""Benchmark of the WHOLE command-line path, with peak memory: what a user waits for.

Run:  nice -n 10 python benchmarks/bench_cli.py [--cases demo fit-5000 ...]
      [--workdir /tmp/fb_bench] [--mem-limit-gb 8] [--json results.json]

Each case runs ``footdrop-bayes`` (``python -m footdrop_bayes.cli``, the defaults: 4 chains
x 1000 draws + 1000 tuning) in a fresh subprocess, so imports, cohort building,
compilation, sampling, summaries, tables, ``posterior.nc`` and figures are all counted.
Recorded per case: wall time, peak resident memory of the process (``ru_maxrss`` from
``os.wait4``: the CLI runs in one process, nutpie's chains are threads), the CLI's own
stage timings (its messages carry the seconds since the start:
:func:`footdrop_bayes.progress.stage_times`), whether the output folder passes
``shared/tools/check-output-folder``, and the machine (cores, CPU model, load average
before and after), the commit and the date. Every case has an address-space limit
(``--mem-limit-gb``) so that a run that would exhaust the shared machine fails with a
``MemoryError`` instead.

Cases (targets of issue 15, 2 cores):

``demo``
    ``footdrop-bayes demo``: the bundled 105-patient cohort; target <= 20 s.
``fit-5000``
    5,000 simulated patients, factors cause, site, lesion type, treatment, continuous age
    and delay, 4 clinics (``--group clinic``); target <= 60 s.
``fit-200k-categorical``
    200,000 patients, categorical covariates only (sex, cause, site, lesion type,
    treatment, age band) and 4 clinics; target <= 90 s and <= 3 GB.
``fit-1m-categorical``
    The same design with 1,000,000 patients; target <= 300 s and <= 6 GB.
``textbook-1000``
    The model a PyMC user writes first (person-month Bernoulli rows, cloglog link, one
    intercept per month, Normal coefficients on dummy-coded factors and standardised
    covariates, PyMC's NUTS) against ``RecoveryModel`` on the same 1,000-patient cohort,
    each in a fresh process: minimum bulk ESS per second of build + compile + sample
    (target: ours >= 5x), beside the ratio per second of sampling only.

Timings are not tests: record them in docs/performance.md with the machine and load.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKER = ROOT.parent / "shared" / "tools" / "check-output-folder"
TARGETS = {  # seconds, GB
    "demo": (20, None), "fit-5000": (60, None), "fit-200k-categorical": (90, 3),
    "fit-1m-categorical": (300, 6),
}
FIT_5000 = ["--factors", "cause,site,lesion_type,treatment", "--covariates", "age,delay",
            "--group", "clinic"]
CATEGORICAL = ["--factors", "sex,cause,site,lesion_type,treatment,age_band",
               "--covariates", "", "--group", "clinic"]


# --------------------------------------------------------------------------- machine
def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "src"],
                               capture_output=True, text=True).stdout.strip()
        commit += "+dirty" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    return {"date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cores": os.cpu_count(), "cpu": model, "memory_gb": round(mem_gb, 1),
            "python": platform.python_version(), "commit": commit}


# --------------------------------------------------------------------------- data
def simulated_tables(workdir: Path, n: int, *, clinics: int, categorical: bool,
                     seed: int = 5) -> tuple[Path, Path]:
    """visits.csv / patients.csv of a simulated cohort (written once, reused)."""
    tag = f"{n}_{clinics}{'_cat' if categorical else ''}_s{seed}"
    visits, patients = workdir / f"visits_{tag}.csv", workdir / f"patients_{tag}.csv"
    if visits.exists() and patients.exists():
        return visits, patients
    import pandas as pd

    from footdrop_bayes import simulate_cohort

    sim = simulate_cohort(n, n_clinics=clinics, random_seed=seed)
    pat = sim.patients
    if categorical:
        pat = pat.assign(age_band=pd.cut(pat["age"], [0, 30, 45, 60, 200],
                                          labels=["<30", "30-44", "45-59", ">=60"],
                                          right=False).astype(str))
        pat = pat.drop(columns=["age", "delay"])
    workdir.mkdir(parents=True, exist_ok=True)
    sim.visits.to_csv(visits, index=False)
    pat.to_csv(patients, index=False)
    return visits, patients


def case_argv(case: str, workdir: Path) -> list[str]:
    if case == "demo":
        return ["demo"]
    if case == "fit-5000":
        v, p = simulated_tables(workdir, 5000, clinics=4, categorical=False)
        extra = FIT_5000
    elif case == "fit-200k-categorical":
        v, p = simulated_tables(workdir, 200_000, clinics=4, categorical=True)
        extra = CATEGORICAL
    elif case == "fit-1m-categorical":
        v, p = simulated_tables(workdir, 1_000_000, clinics=4, categorical=True)
        extra = CATEGORICAL
    else:
        raise ValueError(f"unknown case {case!r}")
    return ["fit", "--visits", str(v), "--patients", str(p), *extra]


# --------------------------------------------------------------------------- running
def run_measured(argv: list[str], log: Path, mem_limit_gb: float | None) -> dict:
    """Run ``argv`` in a subprocess: wall seconds, peak RSS (GB), exit status."""
    def limit():
        if mem_limit_gb:
            b = int(mem_limit_gb * 1e9)
            resource.setrlimit(resource.RLIMIT_AS, (b, b))

    load_before = os.getloadavg()
    t0 = time.perf_counter()
    with open(log, "w") as err:
        proc = subprocess.Popen(argv, stdout=err, stderr=subprocess.STDOUT,
                                preexec_fn=limit, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"seconds": round(wall, 1), "peak_gb": round(usage.ru_maxrss / 1e6, 2),
            "exit": proc.returncode, "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()]}


def run_cli_case(case: str, workdir: Path, mem_limit_gb: float | None) -> dict:
    from footdrop_bayes.progress import stage_times

    argv = case_argv(case, workdir)
    out = Path(tempfile.mkdtemp(prefix=f"{case}_", dir=workdir))
    log = workdir / f"{case}.log"
    res = run_measured([sys.executable, "-m", "footdrop_bayes.cli", *argv, "--out",
                        str(out / "results")], log, mem_limit_gb)
    text = log.read_text(errors="replace").splitlines()
    res["stages"] = stage_times(text)
    res["last_lines"] = [ln for ln in text if ln.strip()][-3:]
    if CHECKER.exists() and (out / "results").exists():
        chk = subprocess.run([sys.executable, str(CHECKER), str(out / "results")],
                             capture_output=True, text=True)
        res["output_folder_ok"] = chk.returncode == 0
    else:
        res["output_folder_ok"] = False
    target_s, target_gb = TARGETS[case]
    res["target"] = f"<= {target_s} s" + (f", <= {target_gb} GB" if target_gb else "")
    res["met"] = (res["exit"] == 0 and res["seconds"] <= target_s
                  and (target_gb is None or res["peak_gb"] <= target_gb))
    return res


# --------------------------------------------------------------------------- textbook
def textbook_cohort(n: int = 1000, seed: int = 5):
    import footdrop_bayes as fb

    visits, patients, _ = fb.simulate_cohort(n, random_seed=seed)
    return fb.Cohort.from_visits(visits, patients, follow_up=6)


def child_model(which: str, n: int, seed: int) -> dict:
    """In a fresh process: build + compile + sample one model; timings and min ESS."""
    import warnings

    warnings.filterwarnings("ignore")
    t_start = time.perf_counter()
    import footdrop_bayes as fb
    from footdrop_bayes.model.diagnostics import compute_diagnostics

    cohort = textbook_cohort(n)
    t0 = time.perf_counter()
    if which == "ours":
        rm = fb.RecoveryModel(cohort, sampler_config={"progressbar": False,
                                                      "on_convergence_failure": "ignore"})
        rm.fit(random_seed=seed)
        idata = rm.idata
        sample_s = float(idata.posterior.attrs["sampling_time"])
        compile_s = float(rm.compile_time)
        total = time.perf_counter() - t0
        build_s = total - sample_s - compile_s
        terms = len(rm.data.patterns["weight"])
    else:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        import pymc as pm
        from bench_model import textbook_model

        model, rows = textbook_model(cohort)
        build_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        with model:
            idata = pm.sample(draws=1000, tune=1000, chains=4, random_seed=seed,
                              progressbar=False, compute_convergence_checks=False)
        sample_s = time.perf_counter() - t1   # includes PyMC's C compilation
        compile_s = float("nan")
        total = time.perf_counter() - t0
        terms = rows
    d = compute_diagnostics(idata)
    return {"model": which, "patients": n, "terms": terms, "build_s": round(build_s, 2),
            "compile_s": round(compile_s, 2), "sample_s": round(sample_s, 2),
            "build_compile_sample_s": round(total, 2),
            "process_s": round(time.perf_counter() - t_start, 2),
            "min_ess_bulk": round(float(d["min_ess_bulk"]), 0),
            "divergences": int(d["divergences"]), "max_rhat": round(float(d["max_rhat"]), 4)}


def run_textbook(workdir: Path, n: int, seed: int, mem_limit_gb: float | None) -> dict:
    out = {}
    for which in ("ours", "textbook"):
        log = workdir / f"textbook_{which}.log"
        res = run_measured([sys.executable, str(Path(__file__).resolve()), "--child", which,
                            "--patients", str(n), "--seed", str(seed)], log, mem_limit_gb)
        lines = [ln for ln in log.read_text().splitlines() if ln.startswith("{")]
        res |= json.loads(lines[-1]) if lines else {"error": log.read_text()[-500:]}
        out[which] = res
    o, t = out["ours"], out["textbook"]
    if "min_ess_bulk" in o and "min_ess_bulk" in t:
        whole = (o["min_ess_bulk"] / o["build_compile_sample_s"]) / \
            (t["min_ess_bulk"] / t["build_compile_sample_s"])
        sampling = (o["min_ess_bulk"] / o["sample_s"]) / (t["min_ess_bulk"] / t["sample_s"])
        out["ratio_whole"] = round(whole, 2)
        out["ratio_sampling_only"] = round(sampling, 2)
        out["met"] = whole >= 5
    return out


# --------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", nargs="*", default=["demo", "fit-5000", "textbook-1000"],
                    choices=[*TARGETS, "textbook-1000"])
    ap.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "fb_bench"))
    ap.add_argument("--mem-limit-gb", type=float, default=8.0,
                    help="address-space limit of each run (0: none)")
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--child", choices=["ours", "textbook"], help=argparse.SUPPRESS)
    ap.add_argument("--patients", type=int, default=1000, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child_model(args.child, args.patients, args.seed)), flush=True)
        return
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    results = {"machine": machine(), "cases": {}}
    print(json.dumps(results["machine"]), flush=True)
    for case in args.cases:
        if case == "textbook-1000":
            res = run_textbook(workdir, 1000, args.seed, args.mem_limit_gb or None)
        else:
            res = run_cli_case(case, workdir, args.mem_limit_gb or None)
        results["cases"][case] = res
        print(json.dumps({case: res}), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
