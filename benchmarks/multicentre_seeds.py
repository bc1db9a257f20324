"""Divergences over sampling seeds: the multi-centre cohorts that diverged in the grid.

Run:  nice -n 8 python benchmarks/multicentre_seeds.py COHORT FORM SEEDS
          >> benchmarks/multicentre_seeds.jsonl

COHORT is one of :data:`COHORTS` (the grid cells with a divergence under one form or the
other); FORM is ``mixed`` (the ``"auto"`` rule since round 5: split blocks mixed),
``nc`` (the split blocks written non-centred: the rule before), ``mixed99`` / ``nc99``
(the same at target_accept 0.99); SEEDS a comma-separated list of sampling seeds. Every
other setting is the default, with the retry switched off (``retry_target_accept=None``)
so that each line is one sampling run. Prints one JSON line per fit (divergences, the
block they point at, max R-hat, min bulk ESS, sampling seconds). One model is compiled
per process and reused for every seed. Results: docs/validation_model.md (round 5).
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import footdrop_bayes as fb

#: name: (patients, clinics, true clinic SD, clinic sizes, cohort seed)
COHORTS = {"issue3_s4": (150, 3, 0.5, "random", 4),
           "g4_unb_sd0_s2": (1000, 4, 0.0, "unbalanced", 2),
           "g2_unb_sd02_s1": (600, 2, 0.2, "unbalanced", 1),
           "g3_bal_sd02_s2": (150, 3, 0.2, "balanced", 2)}


def main(name: str, form: str, seeds: list[int]) -> None:
    warnings.simplefilter("ignore")
    n, j, sd, sizes, seed = COHORTS[name]
    sim = fb.simulate_cohort(n, n_clinics=j, clinic_sd=sd, clinic_sizes=sizes,
                             random_seed=seed)
    cohort = fb.Cohort.from_visits(sim.visits, sim.patients, follow_up=6)
    split = list(fb.RecoveryModel(cohort, group="clinic").model.level_split)
    cfg = {"parameterization": {b: "non-centred" for b in split}} \
        if form.startswith("nc") else {}
    samp = {"on_convergence_failure": "ignore", "progressbar": False,
            "retry_target_accept": None}
    if form.endswith("99"):
        samp["target_accept"] = 0.99
    for s in seeds:
        m = fb.RecoveryModel(cohort, group="clinic", model_config=cfg, sampler_config=samp)
        t0 = time.perf_counter()
        m.fit(random_seed=s)
        d = m.diagnostics()
        print(json.dumps(dict(
            cohort=name, form=form, seed=s,
            par={k: v for k, v in m.parameterization.items() if k in split},
            div=int(d["divergences"]), rhat=round(float(d["max_rhat"]), 4),
            ess=round(float(d["min_ess_bulk"])), culprit=d.get("culprit"),
            sample_s=round(float(m.idata.posterior.attrs.get("sampling_time", 0)), 1),
            total_s=round(time.perf_counter() - t0, 1))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3].split(",")])
