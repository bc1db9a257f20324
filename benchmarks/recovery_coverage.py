"""Parameter recovery: coverage of posterior intervals on simulated cohorts with known effects.

Run:  nice -n 19 python benchmarks/recovery_coverage.py [--sizes 300 1000] [--seeds 1 2 3 4 5 6 7 8]
      [--chains 2] [--draws 1000] [--tune 1000] [--json out.json]

``fb.simulate_cohort`` simulates continuous-time proportional hazards observed at monthly
visits (missed visits, withdrawal), so the grouped-time model is the right model. The
references differ (the simulator's effects are log-HRs vs the first-listed level, the
model's ``b_f`` are sum-to-zero), so the compared quantities are ``log_hr_<f>`` (each
level vs the reference level) and the per-unit slopes ``beta`` - 14 per cohort.

Prints, per cohort: divergences, max R-hat, min bulk ESS and the number of the 14 true
values inside the 50% and 90% central intervals; then the pooled coverage with a
binomial standard error. Record the output in docs/validation_model.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import time
from pathlib import Path

import numpy as np

import footdrop_bayes as fb

LEVELS = (0.5, 0.9)


def model_fingerprint() -> str:
    """Git commit plus an md5 of the model sources (catches uncommitted edits)."""
    root = Path(__file__).resolve().parents[1]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=root).stdout.strip()
    src = sorted((root / "src/footdrop_bayes/model").glob("*.py"))
    return f"{commit} (model sources md5 " \
        f"{hashlib.md5(b''.join(p.read_bytes() for p in src)).hexdigest()[:8]})"


def simulated_fit(n: int, seed: int, sampler_config: dict):
    """Fit a RecoveryModel to ``fb.simulate_cohort(n, random_seed=seed)``; (model, truth)."""
    visits, patients, truth = fb.simulate_cohort(n, random_seed=seed)
    cohort = fb.Cohort.from_visits(visits, patients, follow_up=6,
                                   factors=list(truth["reference"]),
                                   covariates=["age", "delay"],
                                   reference=truth["reference"])
    model = fb.RecoveryModel(cohort, sampler_config=sampler_config).fit(random_seed=seed)
    return model, truth


def coverage_rows(model, truth, levels=LEVELS) -> list[dict]:
    """One row per true log-HR: name, truth, posterior mean and inside-interval flags."""
    post = model.idata.posterior
    rows = []
    for f in model.factors:
        for lv in post[f].values[1:]:
            d = post[f"log_hr_{f}"].sel({f: lv}).values.ravel()
            rows.append((f"{f}:{lv}", truth["effects"][f][lv], d))
    for c in model.covariates:
        d = post["beta"].sel(covariate=c).values.ravel()
        rows.append((c, truth["effects"][c], d))
    out = []
    for name, true, d in rows:
        row = {"parameter": name, "truth": float(true), "mean": float(d.mean()),
               "sd": float(d.std())}
        for level in levels:
            lo, hi = np.quantile(d, [(1 - level) / 2, (1 + level) / 2])
            row[f"in{int(level * 100)}"] = bool(lo <= true <= hi)
        out.append(row)
    return out


def pooled(rows: list[dict], level: float) -> tuple[float, float, int]:
    """Coverage, binomial SE (treating intervals as independent) and count."""
    hits = np.array([r[f"in{int(level * 100)}"] for r in rows], float)
    p = hits.mean()
    return float(p), float(np.sqrt(level * (1 - level) / len(hits))), len(hits)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000])
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(1, 9)))
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--tune", type=int, default=1000)
    ap.add_argument("--json", default=None, help="write all rows to this JSON file")
    args = ap.parse_args(argv)
    cfg = {"chains": args.chains, "draws": args.draws, "tune": args.tune,
           "progressbar": False, "on_convergence_failure": "ignore"}
    commit = model_fingerprint()
    print(f"model commit {commit}; sampler {cfg}", flush=True)
    results = []
    for n in args.sizes:
        for seed in args.seeds:
            t0 = time.perf_counter()
            model, truth = simulated_fit(n, seed, cfg)
            rows = coverage_rows(model, truth)
            diag = model.diagnostics()
            results.append({"n": n, "seed": seed, "rows": rows,
                            "parameterization": model.parameterization,
                            "divergences": int(diag["divergences"]),
                            "max_rhat": float(diag["max_rhat"]),
                            "min_ess_bulk": float(diag["min_ess_bulk"])})
            print(f"n={n} seed={seed}: {time.perf_counter() - t0:.0f} s, divergences "
                  f"{diag['divergences']}, max R-hat {diag['max_rhat']:.3f}, min bulk ESS "
                  f"{diag['min_ess_bulk']:.0f}; inside 50%: "
                  f"{sum(r['in50'] for r in rows)}/{len(rows)}, 90%: "
                  f"{sum(r['in90'] for r in rows)}/{len(rows)}", flush=True)
            if args.json:
                with open(args.json, "w") as fh:
                    json.dump({"commit": commit, "sampler": cfg, "results": results}, fh,
                              indent=1)
    print("\n| cohort | fits | intervals | 50% coverage (SE) | 90% coverage (SE) |")
    print("| --- | --- | --- | --- | --- |")
    for n in [*args.sizes, None]:
        rows = [r for res in results if n is None or res["n"] == n for r in res["rows"]]
        fits = sum(1 for res in results if n is None or res["n"] == n)
        cells = [f"{p:.3f} ({se:.3f})" for p, se, _ in (pooled(rows, lv) for lv in LEVELS)]
        label = "all" if n is None else f"{n} patients"
        print(f"| {label} | {fits} | {len(rows)} | {cells[0]} | {cells[1]} |")
    print("\nper parameter (all fits): hits at 50% / 90%")
    names = [r["parameter"] for r in results[0]["rows"]]
    for i, name in enumerate(names):
        h50 = sum(res["rows"][i]["in50"] for res in results)
        h90 = sum(res["rows"][i]["in90"] for res in results)
        bias = np.mean([res["rows"][i]["mean"] - res["rows"][i]["truth"] for res in results])
        print(f"  {name:32s} {h50:2d} / {h90:2d} of {len(results)}; mean error {bias:+.3f}")


if __name__ == "__main__":
    main()
